"""``python -m bot.emulator`` — run the local Telegram Bot API emulator."""

from bot.emulator.runner import main

main()
