"""Consumers made to exercise the consumer traces (tests/test_channels.py): one sync, traced by the router
wrapper, and one async, traced by the mixin."""

from __future__ import annotations

import time

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer
from django.core.cache import cache

from demo_site.shop.models import Author, Book
from lifecycle.channels import TracedConsumerMixin

ROOM = "t-room"


class SyncBooks(WebsocketConsumer):
    """connect: one query; a frame: a query and a group_send; "boom": raises; disconnect: one query."""

    def connect(self):
        Book.objects.count()
        async_to_sync(self.channel_layer.group_add)(ROOM, self.channel_name)
        self.accept()

    def receive(self, text_data=None, bytes_data=None):
        if text_data == "boom":
            raise ValueError("boom in receive")
        if text_data == "slow":  # a query, then long enough for the live publisher to send its events
            for _ in range(2):
                Book.objects.count()
                time.sleep(0.2)
            self.send(text_data="slow done")
            return
        if text_data == "authors":  # an N+1: one query per book for its author
            self.send(text_data=", ".join(book.author.name for book in Book.objects.order_by("pk")[:5]))
            return
        titles = list(Book.objects.values_list("title", flat=True)[:3])
        cache.get("t:sync-books")
        async_to_sync(self.channel_layer.group_send)(ROOM, {"type": "room.said", "text": text_data or ""})
        self.send(text_data=f"{len(titles)} titles")

    def room_said(self, event):
        self.send(text_data=f"room: {event['text']}")

    def disconnect(self, code):
        Author.objects.count()
        async_to_sync(self.channel_layer.group_discard)(ROOM, self.channel_name)


class RefusingBooks(WebsocketConsumer):
    def connect(self):
        self.close(code=4001)


class AsyncBooks(TracedConsumerMixin, AsyncWebsocketConsumer):
    async def connect(self):
        await Book.objects.acount()
        await self.channel_layer.group_add(ROOM, self.channel_name)
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None):
        if text_data == "boom":
            raise ValueError("boom in async receive")
        await database_sync_to_async(lambda: list(Author.objects.all()[:2]))()
        await self.channel_layer.group_send(ROOM, {"type": "room.said", "text": text_data or ""})
        await self.channel_layer.send(self.channel_name, {"type": "room.said", "text": "to myself"})
        await self.send(text_data="ok")

    async def room_said(self, event):
        await self.send(text_data=f"room: {event['text']}")

    async def disconnect(self, code):
        await self.channel_layer.group_discard(ROOM, self.channel_name)
