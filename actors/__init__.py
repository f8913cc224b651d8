"""The actor runtime: kernel, dispatcher, poller, analyzer and the facades (issue 3).

Actors use the anyio API only and talk over bounded memory object streams; they persist through
`store` and never import the UI or the server.
"""
