from __future__ import annotations

app_name = "lifecycle"
urlpatterns: list = []
