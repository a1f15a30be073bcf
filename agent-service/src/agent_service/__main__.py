"""``python -m agent_service``: serve the agent API with the server's limits (as the image does)."""

from agent_service.config import get_settings
from chatsphere_kit.server import serve_from_command_line

if __name__ == "__main__":
    settings = get_settings()
    serve_from_command_line(
        "agent_service.main:create_app",
        settings,
        default_port=8001,
        default_workers=settings.workers,
    )
