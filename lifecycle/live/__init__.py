"""The live path: the publisher (``publisher``, with its parts ``layer``, ``loops``, ``queue`` and
``encoding``) hands events to the channel layer; the dashboard's websocket consumer (``consumer``,
routed by ``routing``) forwards them to the browsers. Nothing here imports Channels until a layer or the
consumer is needed."""
