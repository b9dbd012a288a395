"""The upload relay: an HTTP service that stores bundles it cannot read, and the client laptops use.

Qt-free. `server.create_app` is the ASGI app (Starlette on uvicorn), `db` its tables (SQLAlchemy
Core, SQLite or PostgreSQL), `signing` the request, receipt and device-list signatures, `client`
what the CLI and the app call to upload and fetch.
"""
