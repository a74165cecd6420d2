"""What the user is told, as data: a template key and its named parameters.

Every sentence the core says to a user is a :class:`Reason`: why something was refused (an
upload, an import, a message too long), what a reader did with a file (an entry of
``MediaPart.notes``: "pages 1–16 of 117 used"), a notice on a reply (stopped, cut off) and the
title of its thinking block. ``reason("pdf.damaged")`` or ``reason("file.too_large",
size_mb=12.3, limit_mb=10)``. ``str()`` gives the English text from :data:`TEMPLATES`; the app
renders the same record in another language from its own table
(:mod:`glmv_ui.ui.reasons_zh`), so the core never holds a translated string and the app never
parses an English one: a view decides by a reason's key and values, never by its text.

Wording rules the templates follow: a reason about a file is a predicate whose subject is the
file ("is damaged, …"), so it reads after the file's name; it says what is wrong, then what to do;
it never carries a library's own text (that goes to the log by exception chaining) and never
guesses aloud. Numbers keep their format spec (``{count:,}``) in every language.

Standard library only; this module must not import the rest of the package.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

__all__ = [
    "TEMPLATES",
    "Joined",
    "Param",
    "Reason",
    "fields",
    "map_text",
    "plain",
    "reason",
    "render",
]

Param: TypeAlias = "int | float | str | Reason | Joined"


@dataclass(frozen=True)
class Reason:
    """A template key and the values it is written with; ``str()`` is the English text."""

    key: str
    params: Mapping[str, Param] = field(default_factory=dict)

    def __str__(self) -> str:
        return render(self)

    def __hash__(self) -> int:  # the params mapping is not hashable itself; its values are
        return hash((self.key, tuple(sorted(self.params.items()))))


@dataclass(frozen=True)
class Joined:
    """Several values shown as one: a list of advice ("; "), alternatives (" or ") or names
    (", "), each joined the way the language joins them."""

    items: tuple[Param, ...]
    how: Literal["list", "or", "comma"] = "list"


def reason(key: str, /, **params: Param) -> Reason:
    """The reason ``key`` of :data:`TEMPLATES`, written with ``params``."""
    return Reason(key, params)


def plain(text: str) -> Reason:
    """A message that has no template yet: the same text in every language."""
    return Reason("", {"text": text})


def map_text(item: Reason, change: Callable[[str], str]) -> Reason:
    """``item`` with every text value in it (nested ones too) passed through ``change``: a view
    escapes what came from outside (an error's text, a file name) before the template is
    filled, so the template's own words stay as written."""

    def one(value: Param) -> Param:
        if isinstance(value, Reason):
            return map_text(value, change)
        if isinstance(value, Joined):
            return Joined(tuple(one(v) for v in value.items), value.how)
        return change(value) if isinstance(value, str) else value

    return Reason(item.key, {k: one(v) for k, v in item.params.items()})


def fields(template: str) -> dict[str, str]:
    """The named fields of a template and their format specs: ``{"count": ","}``."""
    return {
        name: spec or ""
        for _, name, spec, _ in string.Formatter().parse(template)
        if name is not None
    }


def render(item: Param, table: Mapping[str, str] | None = None) -> str:
    """``item`` written from ``table`` (English by default; a key missing there falls back to
    English); nested reasons and joined values are written from the same table."""
    table = TEMPLATES if table is None else table
    if isinstance(item, Joined):
        joiner = table.get(f"_{item.how}") or TEMPLATES[f"_{item.how}"]
        return joiner.join(render(part, table) for part in item.items)
    if not isinstance(item, Reason):
        return str(item)
    template = table.get(item.key) or TEMPLATES.get(item.key)
    values = {
        k: render(v, table) if isinstance(v, Reason | Joined) else v for k, v in item.params.items()
    }
    try:
        return template.format(**values) if template is not None else ""
    except (KeyError, IndexError, ValueError):
        pass
    # A template and its values that disagree are a bug; the user still gets the facts.
    return f"{item.key}: " + ", ".join(f"{k}={v}" for k, v in values.items())


TEMPLATES: dict[str, str] = {
    "": "{text}",
    "_list": "; ",
    "_or": " or ",
    "_comma": ", ",
    # Any file (glmv_ui.media.ingest, rules)
    "file.empty": "is empty (0 bytes); check that the file was saved in full and upload it again",
    "file.not_uploaded": "was not uploaded to this app: attach the file from your computer",
    "file.missing": "cannot be read: the uploaded copy is gone (uploads expire after a while); "
    "attach the file again",
    "file.unreadable": "could not be read: it is damaged or in a form this app does not read; "
    "save it again as JPEG, PNG, PDF or MP4 and upload that",
    "file.mismatch": "does not hold {format} data, although its name says it does: it is damaged "
    "or another kind of file; check that it is the right file, or save it again "
    "as {format} and upload that",
    "file.unsupported": "is not a kind of file this app reads; upload images (JPEG, PNG, WebP, "
    "GIF, BMP, TIFF), PDF documents, slide decks (PPTX, ODP, PPT) or videos "
    "(MP4, MOV, WebM, AVI, MKV)",
    "file.too_large": "is {size_mb:,.0f} MB; uploads are limited to {limit_mb:,} MB: send a "
    "smaller file",
    "file.old_office": "is an older Office document; of those only PowerPoint decks (PPT) can be "
    "read: save it as PDF and upload that",
    "file.heic": "is a HEIC or AVIF photo, which this app cannot read; convert it to JPEG or PNG "
    "and upload that",
    "file.svg": "is an SVG (vector) image, which this app cannot read; export it as PNG and "
    "upload that",
    "file.zip_damaged": "is a damaged ZIP archive, and archives cannot be read in any case: "
    "upload the files it holds",
    "file.zip_other": "is a ZIP package but not a slide deck; documents, spreadsheets and "
    "archives cannot be read: save a document as PDF, or upload the files an "
    "archive holds",
    # The conversation rules (glmv_ui.media.rules)
    "rules.video_after_images": "cannot join this conversation, which already holds images (PDF "
    "pages and slides count as images): the model cannot take images "
    "and a video together; start a new conversation for the video",
    "rules.second_video": "cannot join this conversation, which already holds a video: a "
    "conversation holds one video at most; start a new conversation for "
    "this one",
    "rules.images_after_video": "cannot join this conversation, which already holds a video: the "
    "model cannot take a video and images together (PDF pages and "
    "slides count as images); start a new conversation for the images",
    "rules.too_many_images": "cannot join this conversation: it already holds {limit:,} images, "
    "the most a conversation may hold (PDF pages and slides count as "
    "images); start a new conversation, or send fewer",
    "budget.over": "would bring the conversation to about {total:,} visual tokens, more than the "
    "{budget:,} available in a {context:,}-token context; {hints}",
    "budget.over_earlier": "would bring the conversation from {used:,} to about {total:,} visual "
    "tokens, more than the {budget:,} available in a {context:,}-token "
    "context; {hints}",
    "budget.pages": "choose a page range or fewer pages",
    "budget.images": "send fewer images, or images of lower resolution",
    "budget.video": "use fewer frames (fewer frames a second, or a shorter time range)",
    "budget.new": "start a new conversation",
    "budget.less": "send fewer or smaller files",
    # Images (glmv_ui.media.images)
    "image.too_many_pixels": "has too many pixels to open safely; images of up to {limit:,} "
    "megapixels are accepted: reduce its size and upload it again",
    "image.pixels": "is {width}x{height} pixels, more than the {limit:,} megapixels that can be "
    "opened safely; reduce its size and upload it again",
    "image.jpeg_progressive": "is a progressive JPEG of {width}x{height} pixels ({channels} "
    "channels), which must be held whole while decoding: "
    "{decoded_mb:,.0f} MB, more than the {limit_mb:,} MB an image may "
    "take; save it smaller or as a baseline JPEG and upload that",
    "image.jpeg_multiscan": "is a multi-scan JPEG of {width}x{height} pixels ({channels} "
    "channels), which must be held whole while decoding: "
    "{decoded_mb:,.0f} MB, more than the {limit_mb:,} MB an image may "
    "take; save it smaller or as a baseline JPEG and upload that",
    "image.decoded": "would take {decoded_mb:,.0f} MB once decoded ({width}x{height} pixels, "
    "{channels} channels of {bits} bits), more than the {limit_mb:,} MB an image "
    "may take here; save it smaller or as 8-bit RGB JPEG and upload that",
    "image.aspect": "is {width}x{height} pixels, longer than the {ratio}:1 the model accepts; "
    "cut it into pieces and upload those",
    "image.tiff": "is a TIFF this app cannot read (its compression or layout is not supported); "
    "save it as PNG or JPEG and upload that",
    "image.unreadable": "cannot be read as an image: it is damaged or in a format this app does "
    "not read; save it as PNG or JPEG and upload that",
    "image.format": "is a {format} image, which this app cannot read; save it as PNG or JPEG and "
    "upload that",
    "image.damaged": "is damaged or incomplete (a download or copy may not have finished) and "
    "cannot be read; upload a complete copy",
    # PDF documents (glmv_ui.media.pdf)
    "pdf.range": "cannot show pages {first}-{last}: its pages run from 1 to {total:,}; choose a "
    "range within them",
    "pdf.no_room": "cannot join this conversation: it already holds as many images as a "
    "conversation may (PDF pages count as images); start a new conversation for it",
    "pdf.unreadable": "is not a readable PDF: it is damaged or not a PDF at all; open it in a PDF "
    "viewer, save or print it again as PDF, and upload that",
    "pdf.password": "is protected by a password; enter the password to open it",
    "pdf.wrong_password": "cannot be opened with that password; enter the right one",
    "pdf.damaged": "is damaged, and none of its pages can be read; open it in a PDF viewer, save "
    "or print it again as PDF, and upload that",
    "pdf.no_pages": "has no pages, so there is nothing to read; upload another file",
    "pdf.image": "has on page {number:,} an image (object {xref}) of {width}x{height} pixels that "
    "would take {decoded_mb:,.0f} MB to decode, more than the {limit_mb:,} MB an "
    "image may take; save the PDF with smaller images and upload that",
    "pdf.images": "has on page {number:,} {count:,} images that would take {decoded_mb:,.0f} MB to "
    "decode together, more than the {limit_mb:,} MB a page may take; save the PDF "
    "with smaller images and upload that",
    "slides.image": "has on slide {number:,} an image (object {xref}) of {width}x{height} pixels "
    "that would take {decoded_mb:,.0f} MB to decode, more than the {limit_mb:,} "
    "MB an image may take; use smaller pictures and upload it again",
    "slides.images": "has on slide {number:,} {count:,} images that would take {decoded_mb:,.0f} "
    "MB to decode together, more than the {limit_mb:,} MB a slide may take; use "
    "smaller pictures and upload it again",
    "pdf.pattern": "holds a fill pattern (object {xref}) with cells of {cell:.3g} pt, which would "
    "be drawn {tiles:,.0f} times over a page, more than the {limit:,} a page may "
    "take; save the PDF without it (print it to PDF again) and upload that",
    "pdf.font": "holds a font of more than {limit_mb:,} MB once unpacked (object {xref}), far "
    "more than any real font; print it again as PDF and upload that",
    "pdf.page_damaged": "is damaged: page {number:,} cannot be shown; choose a page range without "
    "it, or save the file again as PDF and upload that",
    # Slide decks (glmv_ui.media.slides)
    "slides.range": "cannot show slides {first}-{last}: its slides run from 1 to {total:,}; "
    "choose a range within them",
    "slides.no_room": "cannot join this conversation: it already holds as many images as a "
    "conversation may (slides count as images); start a new conversation for it",
    "slides.slide_damaged": "is damaged: slide {number:,} cannot be shown; choose a slide range "
    "without it, or save the deck again and upload it",
    "slides.none": "has no slides, so there is nothing to show; add slides to the deck, or "
    "upload another file",
    "slides.office_missing": "cannot be shown: the program that draws slides (LibreOffice) did "
    "not start on this server; export the deck as PDF and upload that",
    "slides.timeout": "took longer than {seconds:g} s to convert and was stopped; upload a "
    "smaller deck, or export it as PDF and upload that",
    "slides.memory": "could not be converted: it needs more than the {limit_mb:,} MB of memory a "
    "deck may use here; upload a smaller deck (fewer or smaller pictures), or "
    "export it as PDF and upload that",
    "slides.unopenable": "cannot be opened as a slide deck: it is damaged or not a presentation; "
    "save it again as PPTX and upload that",
    "slides.no_reader": "cannot be shown: this server has no program that reads slide decks; "
    "export the deck as PDF and upload that",
    "slides.pptx_only": "cannot be read: without LibreOffice only PPTX decks can be read here, "
    "and this file is not one or is damaged; save it as PPTX or PDF and "
    "upload that",
    "slides.pptx_unopenable": "cannot be opened as a PPTX deck: it is damaged or holds parts the "
    "reader does not know; save it again as PPTX or as PDF and upload "
    "that",
    # Deck packages (glmv_ui.media.archive)
    "deck.dtd": "holds a document type declaration, which slide decks never need and which can "
    "reach outside the file; save it again as PPTX or ODP and upload that",
    "deck.encoding": "holds a part ({member}) in an encoding LibreOffice could read past our "
    "checks; slide decks are saved as UTF-8: save it again as PPTX or ODP and "
    "upload that",
    "deck.damaged": "is damaged or incomplete and cannot be opened as a slide deck; save it "
    "again as PPTX or ODP and upload that",
    "deck.total": "holds {total_mb:,.0f} MB once unpacked; slide decks may hold up to "
    "{limit_mb:,} MB: make its pictures smaller or remove videos, or export it as "
    "PDF and upload that",
    "deck.total_over": "holds more than {limit_mb:,} MB once unpacked, the most a slide deck may "
    "hold; make its pictures smaller or remove videos, or export it as PDF and "
    "upload that",
    "deck.members": "is made of {count:,} parts; slide decks may have up to {limit:,}: export it "
    "as PDF and upload that",
    "deck.encrypted": "is protected by a password; save it without a password and upload that",
    "deck.method": "is packed in a way slide decks never are; open it in the program that made "
    "it, save it again as PPTX or ODP, and upload that",
    "deck.member_size": "holds a part ({member}) of {size_mb:,.0f} MB once unpacked; parts of "
    "this kind may be up to {limit_mb:,} MB: make its pictures smaller, or "
    "export it as PDF and upload that",
    "deck.ratio": "holds a part ({member}) packed {ratio:,.0f} to 1, far tighter than real "
    "documents are (up to {limit:,} to 1 is accepted), so it is not opened; save "
    "the deck again from the program that made it",
    "deck.sizes": "is damaged: its table of contents does not match what it holds; save it "
    "again and upload that",
    "deck.overflow": "is damaged: a part ({member}) holds more than its table of contents says, "
    "so it is not opened; save the deck again from the program that made it",
    # Videos (glmv_ui.media.video)
    "video.fps": "cannot be sampled at {fps:g} frames a second; choose a rate above 0",
    "video.max_frames": "cannot be sampled with a limit of {limit:,} frames; allow 1 frame or more",
    "video.unreadable": "is not a readable video: it is damaged or incomplete, or in a format "
    "this app does not read; export it again as MP4 and upload that",
    "video.damaged": "is damaged: its pictures cannot be read; export it again as MP4 and upload "
    "that",
    "video.no_stream": "has no pictures, only sound or other data; upload a video with pictures",
    "video.range": "cannot be cut to {start:g}-{end:g} s: the start must be 0 or later and the "
    "end after it; correct the time range",
    "video.range_after_end": "is {duration:.1f} s long, but the time range starts at {start:g} "
    "s; choose a start within the video",
    "video.frame_pixels": "has frames of {width}x{height} pixels ({decoded_mb:,.0f} MB each once "
    "decoded), more than the {limit:,} megapixels a video frame may have "
    "here; export it at 3840x2160 or less and upload that",
    "preview.waiting": "other attachments are being read; yours will be read as soon as there "
    "is room (the server reads a few at a time)",
    "video.no_size": "is damaged: its pictures have no size; export it again as MP4 and upload "
    "that",
    "video.no_frames": "is damaged: none of its frames can be read; export it again as MP4 and "
    "upload that",
    # A message or a whole conversation (glmv_ui.session, glmv_ui.engines.local)
    "message.too_long": "the message is {length:,} characters; at most {limit:,} fit in the "
    "model's {context:,}-token context: shorten it or split it over several "
    "messages",
    "context.mixed": "images and a video cannot be sent in one conversation: start a new "
    "conversation for the video",
    "context.too_long": "the conversation is {tokens:,} tokens; the model's context holds "
    "{context:,}: start a new conversation, or send fewer or smaller images, "
    "pages or frames",
    # What a reader did with a file: MediaPart.notes (glmv_ui.media), after the file's name
    "range.pages": "pages {first}–{last} of {total}",
    "range.page": "page {first} of {total}",
    "range.slides": "slides {first}–{last} of {total}",
    "range.slide": "slide {first} of {total}",
    "range.frames": "{count} frames, {start}–{end} of {total}",
    "note.used": "{range} used",
    "note.pages_capped": "{range} used; choose a page range to see others",
    "note.slides_capped": "{range} used; choose a slide range to see others",
    "note.repaired": "the file was damaged and has been repaired; some content may be missing",
    "note.slides_summary": "LibreOffice not found: slides shown as text-and-picture summaries "
    "(fallback)",
    "note.first_frame": "animated {format}: first frame of {frames:,} used",
    "note.first_page": "{format} with {frames:,} pages: first page used",
    "note.downscaled": "downscaled from {width}x{height} to {new_width}x{new_height} pixels",
    "note.time_range": "{start:g}–{end:g} s of {duration:.1f} s used",
    "note.frames_spread": "{frames:,} frames spread over {seconds:.0f} s (fewer than {fps:g} a "
    "second)",
    "note.single_frame": "single frame: repeated to make the pair the model needs",
    # A reply (glmv_ui.reply): its notices and the title of its thinking block
    "notice.stopped": "Stopped: the answer is partial.",
    "notice.failed": "The reply failed: {detail}",
    "notice.truncated": "The reply was cut off while thinking: it reached the token limit before "
    "answering. Raise the maximum new tokens, or limit the thinking.",
    "notice.length": "The answer reached the token limit ({tokens:,} tokens) and may be "
    "incomplete.",
    "notice.empty": "The model gave an empty answer: it ended before writing anything. "
    "Regenerate, or ask the question another way.",
    "thinking.pending": "Thinking",
    "thinking.done": "Thought",
    "thinking.done_in": "Thought for {seconds:.1f} s",
    "thinking.cut": "Thinking (cut off at the token limit)",
    # Importing a conversation (glmv_ui.export)
    "import.at": "{file}: {where}",
    "import.turn": "turn {turn}",
    "import.turn_part": "turn {turn}, part {part}",
    "import.turn_stats": "turn {turn}, stats",
    "import.turn_settings": "turn {turn}, settings",
    "import.part": "{file} ({where}, {source})",
    "import.nested": "is not a conversation exported by this app (its data is nested too "
    "deeply); import a file exported by this app",
    "import.not_json": "is not a valid JSON file (it breaks off or is malformed at line "
    "{line:,}); import a file exported by this app",
    "import.not_json_value": "is not a valid JSON file; import a file exported by this app",
    "import.failed": "could not be imported: its content is not what this app writes; export "
    "the conversation again and import that file",
    "import.not_text": "is not a text file, as an exported conversation is; import a file "
    "exported by this app",
    "import.not_ours": "is not a conversation exported by this app; import a JSON file written "
    "by Export",
    "import.newer": "was written by a newer version of this app (format {version}); update the "
    "app to import it",
    "import.object": "must be an object, not {actual}",
    "import.missing": "{key} is missing",
    "import.too_long_text": "{key} has {count:,} characters; at most {limit:,} are accepted",
    "import.too_long_list": "{key} has {count:,} entries; at most {limit:,} are accepted",
    "import.type": "{key} must be {wanted}, not {actual}",
    "import.unknown_field": "has an unknown field {key}",
    "import.one_of": "{key} must be one of {allowed}, not {value}",
    "import.numbers": "page and slide numbers start at 1",
    "import.note_type": "a note must be {wanted}, not {actual}",
    "import.note_long": "a note has {count:,} characters; at most {limit:,} are accepted",
    "import.frame_type": "a frame must be {wanted}, not {actual}",
    "import.time_type": "a timestamp must be {wanted}, not {actual}",
    "import.frames": "a video needs an even number of frames, each with a timestamp",
    "import.video_frames": "is a video of {frames:,} frames; videos are sampled to at most "
    "{limit:,}: export the conversation again from this app",
    "import.frame_sizes": "is a video whose frames differ in size; export the conversation "
    "again from this app",
    "import.base64": "holds a picture whose data is damaged (not valid base64); export the "
    "conversation again from this app",
    "json.int": "a whole number",
    "json.float": "a number",
    "json.str": "a string",
    "json.bool": "true or false",
    "json.None": "null",
    "json.list": "a list",
    "json.object": "an object",
    # Files given by URL (glmv_ui.ui.api)
    "url.too_large": "is larger than the {limit_mb:,} MB an upload may be; send a smaller file",
    "url.scheme": "is not an http(s) or data: URL; pass each file as a web address or a data: URL",
    "url.private": "points at this machine or a private network, which this app does not fetch "
    "from; use a public address, or upload the file itself",
    "url.status": "could not be downloaded: the server answered with HTTP status {status}; "
    "check the address",
    "url.failed": "could not be downloaded: the server could not be reached or stopped "
    "answering; check the address and try again",
    "url.redirects": "could not be downloaded: the address redirects too many times; use the "
    "file's final address",
    "url.total": "is more than is left of the {limit_mb:,} MB that one request's files may be "
    "together; send fewer or smaller files",
    "fetch.count": "{count} files were given; one request may bring at most {limit}",
    "url.deadline": "could not be downloaded within the {seconds:g} s one request's files may "
    "take; use a faster server or upload the file itself",
    "url.unresolvable": "could not be downloaded: its host could not be found; check the address",
    "url.data": "is not a valid data: URL",
    "disk.full": "could not be stored: the server's disk is full; try again later",
}
