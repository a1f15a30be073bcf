"""``python -m core_service``: serve the core API with the server's limits (as the image does)."""

from chatsphere_kit.server import serve_from_command_line
from core_service.config import get_settings

if __name__ == "__main__":
    serve_from_command_line("core_service.main:create_app", get_settings(), default_port=8000)
