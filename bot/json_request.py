"""Bot API calls as JSON bodies instead of form fields.

python-telegram-bot posts every call as ``application/x-www-form-urlencoded``: each parameter is
JSON-encoded, then the whole body percent-encoded byte by byte in Python (``urllib.parse``). For
our messages (long HTML, Chinese text, keyboards) that was ~5 % of the bot's CPU per update
(issue 17: ``bench.run_all --closed-only`` profiled; ``quote`` did 800 k dict lookups for a
thousand updates). The Bot API takes ``application/json`` bodies as well, so calls without files
go as one ``json.dumps`` in UTF-8; uploads stay multipart, as PTB sends them.
"""

from __future__ import annotations

import json

import httpx
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

_JSON = {"Content-Type": "application/json"}


class JsonHTTPXRequest(HTTPXRequest):
    """:class:`HTTPXRequest` that sends calls without files as a JSON body."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is None or request_data.contains_files or self._client.is_closed:
            return await super().do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        client_timeout = self._client.timeout
        timeout = httpx.Timeout(
            connect=client_timeout.connect
            if isinstance(connect_timeout, DefaultValue)
            else connect_timeout,
            read=client_timeout.read if isinstance(read_timeout, DefaultValue) else read_timeout,
            write=client_timeout.write
            if isinstance(write_timeout, DefaultValue)
            else write_timeout,
            pool=client_timeout.pool if isinstance(pool_timeout, DefaultValue) else pool_timeout,
        )
        body = json.dumps(request_data.parameters, ensure_ascii=False).encode()
        try:
            res = await self._client.request(
                method=method,
                url=url,
                headers={"User-Agent": self.USER_AGENT, **_JSON},
                timeout=timeout,
                content=body,
            )
        # The same errors PTB's own request raises, so its retries and our error handler see
        # no difference.
        except httpx.TimeoutException as err:
            if isinstance(err, httpx.PoolTimeout):
                raise TimedOut(
                    message="Pool timeout: all connections in the pool are busy; "
                    "the request was not sent."
                ) from err
            raise TimedOut from err
        except httpx.HTTPError as err:
            raise NetworkError(f"httpx.{err.__class__.__name__}: {err}") from err
        return res.status_code, res.content
