"""``python -m tgemu`` — run the local Telegram Bot API emulator."""

from tgemu.runner import main

main()
