"""Bounding boxes and GUI-agent actions in GLM-V answers: find them, draw them, export them.

One module a concern: ``boxes`` finds boxes, ``actions`` finds GUI-agent actions (with ``calls``
reading call syntax), ``drawing`` draws both on an image, ``export`` turns boxes into table rows,
JSON and highlighted Markdown. This package imports the standard library only; ``drawing`` imports
PIL when called. Nothing here keeps state between calls.
"""

from __future__ import annotations

from .actions import Action, find_actions
from .boxes import Box, choose_image_index, find_boxes, with_box_markers
from .drawing import BOX_COLORS, draw_boxes
from .export import boxes_table, boxes_to_json, highlight_boxes_markdown, number_list

__all__ = [
    "BOX_COLORS",
    "Action",
    "Box",
    "boxes_table",
    "boxes_to_json",
    "choose_image_index",
    "draw_boxes",
    "find_actions",
    "find_boxes",
    "highlight_boxes_markdown",
    "number_list",
    "with_box_markers",
]
