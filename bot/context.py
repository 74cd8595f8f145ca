"""Typed context: handlers read ``context.storage`` and friends, never string keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.clock import Clock
from bot.config import Settings
from bot.domain.people import User
from bot.render import Renderer

if TYPE_CHECKING:
    from bot.storage import Storage


@dataclass
class BotData:
    """What every handler may need; one instance per application."""

    settings: Settings
    clock: Clock
    renderer: Renderer
    storage: Storage | None = None
    bot_username: str | None = None
    #: Starts a delivery of the outbox now (see :func:`bot.telegram_io.wake`): the outbox
    #: sender's own, handed over by the composition root. Unset, rows wait for the next tick.
    outbox_wake: Callable[[QingshouContext], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class QingshouContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """CallbackContext with typed access to the application's services."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        #: The person behind this update, as stored (set by the access check).
        self.user: User | None = None
        #: The language to answer in (set by the access check, also for strangers).
        self.locale: str = "en"

    @property
    def settings(self) -> Settings:
        return self.bot_data.settings

    @property
    def clock(self) -> Clock:
        return self.bot_data.clock

    @property
    def renderer(self) -> Renderer:
        return self.bot_data.renderer

    @property
    def storage(self) -> Storage:
        storage = self.bot_data.storage
        if storage is None:
            raise RuntimeError("storage is not open yet (post_init has not run)")
        return storage

    def render(self, name: str, /, **params: Any) -> str:
        """Render a template in this update's language."""
        return self.renderer.render(self.locale, name, **params)

    async def refresh_menu(self, user: User) -> None:
        """Give ``user`` the command menu of their role, in their language."""
        from bot.menu import set_person_menu

        locale = (
            self.locale
            if self.user and user.id == self.user.id
            else (user.effective_locale(self.settings.default_locale))
        )
        await set_person_menu(self.bot, self.renderer, user, locale)

    def label(self, message: str) -> str:
        """A button label in this update's language."""
        return self.renderer.label(self.locale, message)
