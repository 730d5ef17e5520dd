"""The sign-in page in Chinese, whatever language the browser is set to.

Gradio draws its sign-in page (and its own texts elsewhere) in the browser: Login.svelte looks up
``login.login`` / ``login.username`` / ``login.password`` in the translations Gradio ships, zh-CN
among them (登录 / 用户名 / 密码), for the language ``navigator.language`` reports. The app's own
``gr.I18n`` translations never reach that page (its config carries none), so a browser set to English
showed "Login / username / password". This ASGI middleware makes every page Gradio serves say it is
zh-CN before Gradio's scripts run: the sign-in page and Gradio's built-in texts come out in Chinese.
"""

from __future__ import annotations

PIN_LANGUAGE = (b'<script>Object.defineProperty(navigator, "language", {get: () => "zh-CN"});'
                b'Object.defineProperty(navigator, "languages", {get: () => ["zh-CN", "zh"]});</script>')


class ChinesePages:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        held: dict = {}  # an HTML page's start message and body, until its last piece

        async def send_page(message):
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    held.update(start=message, body=b"")
                    return
            elif message["type"] == "http.response.body" and held:
                held["body"] += message.get("body", b"")
                if message.get("more_body"):
                    return
                body = held["body"].replace(b'lang="en"', b'lang="zh-CN"', 1).replace(b"<head>", b"<head>" + PIN_LANGUAGE, 1)
                headers = [(k, v) for k, v in held["start"]["headers"] if k.lower() != b"content-length"]
                await send({**held["start"], "headers": headers + [(b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, send_page)
