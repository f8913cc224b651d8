"""The HTTP API: FastAPI over the runtime handle, served by uvicorn inside the runtime's task
group (`runtui serve`). It never imports Textual."""
