"""Chat templates in the formats of the newer GLM-V checkpoints, for the tiny test checkpoints.

``GLM_V_HYBRID_TEMPLATE`` is the GLM-V family format GLM-4.6V and GLM-4.6V-Flash are published
with: ``enable_thinking=false`` appends ``/nothink`` to user turns and pre-fills
``<|assistant|>\\n<think></think>\\n``; earlier assistant turns are rebuilt as ``<think>…</think>``
plus the answer, their reasoning kept only after the last user turn; tool calls are written as
``<tool_call>name`` with ``<arg_key>``/``<arg_value>`` pairs and tool results come back in an
``<|observation|>`` turn that may hold images and videos.

``GLM53_TEMPLATE`` follows the same turns but always opens ``<think>`` after ``<|assistant|>``
and takes ``reasoning_effort`` (``none`` pre-fills an empty thought) instead of
``enable_thinking``.
"""

from __future__ import annotations

__all__ = ["GLM53_TEMPLATE", "GLM_V_HYBRID_TEMPLATE"]

# Shared pieces: visible text of a content list, media placeholders, the last user turn.
_HEAD = """
{%- macro text_of(content) -%}
{%- if content is string -%}{{ content }}{%- else -%}{%- for item in content -%}
{%- if item.type == 'text' -%}{{ item.text }}{%- endif -%}{%- endfor -%}{%- endif -%}
{%- endmacro -%}
{%- macro parts_of(content) -%}
{%- if content is string -%}{{ content }}{%- else -%}{%- for item in content -%}
{%- if item.type == 'video' or 'video' in item -%}<|begin_of_video|><|video|><|end_of_video|>
{%- elif item.type == 'image' or 'image' in item -%}<|begin_of_image|><|image|><|end_of_image|>
{%- elif item.type == 'text' -%}{{ item.text }}{%- endif -%}{%- endfor -%}{%- endif -%}
{%- endmacro -%}
{%- set ns = namespace(last_user=-1) -%}
{%- for m in messages -%}{%- if m.role == 'user' -%}{%- set ns.last_user = loop.index0 -%}
{%- endif -%}{%- endfor -%}
"""

_TURNS = """
{%- for m in messages -%}
{%- if m.role == 'system' -%}<|system|>
{{ text_of(m.content) }}
{%- elif m.role == 'user' -%}<|user|>
{{ parts_of(m.content) }}{{ NOTHINK }}
{%- elif m.role == 'assistant' -%}<|assistant|>
{%- set body = text_of(m.content) -%}{%- set thought = '' -%}
{%- if m.reasoning_content is string -%}{%- set thought = m.reasoning_content -%}
{%- elif '</think>' in body -%}
{%- set thought = body.split('</think>')[0].split('<think>')[-1].strip() -%}
{%- set body = body.split('</think>')[-1] -%}
{%- endif -%}
{%- if loop.index0 > ns.last_user and thought -%}{{ '\\n<think>' + thought.strip() + '</think>' }}
{%- else -%}{{ '\\n<think></think>' }}{%- endif -%}
{%- if body.strip() -%}{{ '\\n' + body.strip() }}{%- endif -%}
{%- for call in m.tool_calls or [] -%}
{%- set f = call.function if call.function is defined else call -%}
{{ '\\n<tool_call>' + f.name + '\\n' }}
{%- for key, value in (f.arguments or {}).items() -%}
<arg_key>{{ key }}</arg_key>
<arg_value>{{ value if value is string else value | tojson }}</arg_value>
{% endfor -%}
</tool_call>
{%- endfor -%}
{%- elif m.role == 'tool' -%}
{%- if loop.first or messages[loop.index0 - 1].role != 'tool' -%}<|observation|>{%- endif -%}
{{ '\\n<tool_response>\\n' }}{{ parts_of(m.content) }}{{ '\\n</tool_response>' }}
{%- endif -%}
{%- endfor -%}
"""

GLM_V_HYBRID_TEMPLATE = (
    "[gMASK]<sop>"
    + _HEAD
    + _TURNS.replace(
        "{{ NOTHINK }}",
        "{{ '/nothink' if (enable_thinking is defined and not enable_thinking"
        " and not text_of(m.content).endswith('/nothink')) else '' }}",
    )
    + """
{%- if add_generation_prompt -%}<|assistant|>
{% if enable_thinking is defined and not enable_thinking %}<think></think>
{% endif -%}
{%- endif -%}"""
)

GLM53_TEMPLATE = (
    "[gMASK]<sop>"
    + _HEAD
    + """
{%- if reasoning_effort is defined and reasoning_effort == 'low' -%}<|system|>
Reasoning effort: low
{%- elif reasoning_effort is defined and reasoning_effort == 'medium' -%}<|system|>
Reasoning effort: medium
{%- elif reasoning_effort is defined and reasoning_effort == 'high' -%}<|system|>
Reasoning effort: high
{%- endif -%}"""
    + _TURNS.replace("{{ NOTHINK }}", "")
    + """
{%- if add_generation_prompt -%}<|assistant|>
{% if reasoning_effort is defined and reasoning_effort == 'none' %}<think></think>
{% else %}<think>{% endif -%}
{%- endif -%}"""
)
