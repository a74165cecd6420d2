"""Interface strings in English and Chinese: the app's labels and its own messages.

What the core says to a user (a refusal, a reader's note, a notice on a reply, the thinking
block's title) is a :class:`~glmv_ui.reasons.Reason`, written from :mod:`glmv_ui.reasons` and
:mod:`glmv_ui.ui.reasons_zh`; no sentence is in both places (a test holds them apart).

Standard library only. :func:`t` falls back to English for a key missing in another language, so
a new label never shows up as a raw key.
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "STRINGS", "t"]

LANGUAGES: dict[str, str] = {"en": "English", "zh": "中文"}

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "GLM-V Workbench",
        "subtitle": "Images, documents, slides and videos with GLM-4.1V-Thinking and GLM-4.5V",
        "language": "Language",
        "chat": "Conversation",
        "placeholder": "Ask about an image, a PDF, slides or a video; drop or paste files here",
        "input": "Message",
        "send": "Send",
        "stop": "Stop",
        "regenerate": "Regenerate",
        "undo": "Undo",
        "clear": "Clear",
        "attachments": "Attachments",
        "boxes_on": "Boxes drawn on {label}",
        "actions_on": "Actions drawn on {label}",
        "legend": "Legend",
        "col_box": "box",
        "col_label": "label",
        "col_grid": "x1, y1, x2, y2 (0-1000)",
        "col_pixels": "pixels",
        "settings": "Generation",
        "media_settings": "Media",
        "system_prompt": "System prompt",
        "system_placeholder": "Optional instructions for the model",
        "thinking_on": "Thinking (off: a quick answer)",
        "thinking_budget": "Thinking budget in tokens (0 = no limit)",
        "temperature": "Temperature",
        "top_p": "Top-p",
        "top_k": "Top-k",
        "repetition_penalty": "Repetition penalty",
        "max_new_tokens": "Max new tokens",
        "seed": "Seed (-1 = random)",
        "pdf_first": "First PDF page (0 = from the start)",
        "pdf_last": "Last PDF page (0 = to the end)",
        "pdf_tokens": "Visual tokens per PDF page (resolution)",
        "video_fps": "Video frames per second",
        "video_max_frames": "Video max frames",
        "video_start": "Video start (s)",
        "video_end": "Video end (s, 0 = to the end)",
        "image_mp": "Image pixel budget (megapixels)",
        "model": "Model",
        "model_details": "Model",
        "model_choice": "Checkpoint",
        "model_choice_info": "A hub id, a local folder, or tiny-glm41v / tiny-glm45v (no "
        "download). Loading replaces the model for everyone using this app.",
        "model_quant": "Weights",
        "remote_url": "Or an OpenAI-compatible server",
        "remote_model": "Served model name",
        "model_load": "Load for everyone",
        "estimate_local": "**{model}** needs about **{need}** for {option} weights; "
        "{free} of {where} is free.",
        "gpu_memory": "GPU memory",
        "ram": "RAM",
        "estimate_tight": "That is more than is free: loading will be refused. Choose 4-bit, "
        "a smaller model, or a server.",
        "estimate_unknown": "No size is known for **{model}** until it is loaded ({reason}).",
        "estimate_remote": "Replies will come from **{url}**; nothing is loaded here.",
        "switch_off": "Loading another model is turned off for this app (`--model-switch`).",
        "switch_denied": "Only an operator may load another model: log in with a login named "
        "in GLMV_OPERATORS.",
        "switching": "Loading **{model}**… {percent}%; the current model serves until it is ready.",
        "switch_note": "Last switch: {note}.",
        "prompt_cache": "Kept prompt caches",
        "sampling_note_near_greedy": "This model always thinks and starts near-greedy, as "
        "GLM-4.1V's model card demo does (top-p 0.00001, top-k 2): the same question gets the "
        "same answer. Raise top-p (e.g. 0.8) for more varied answers; a thinking budget closes "
        "the thought after that many tokens.",
        "sampling_note_vendor": "Hybrid-reasoning models (GLM-4.5V, GLM-4.6V, GLM-5.3-Flash) "
        "start with the vendor app's settings (temperature 0.3, top-p 0.6, top-k 2). Thinking "
        "can be turned off for quick answers.",
        "reuse_extend": "This model's linear-attention layers keep a state that cannot be cut "
        "back: a follow-up reuses the kept prompt cache only when its prompt extends the kept "
        "one exactly, which multi-turn chats rarely do.",
        "sampling_note_glm4v": "GLM-4.1V starts near-greedy, as its model card's demo does "
        "(top-p 0.00001, top-k 2): the same question gets the same "
        "answer. Raise top-p (e.g. 0.8) for more varied answers.",
        "sampling_note_glm4v_moe": "GLM-4.5V starts with the vendor app's settings "
        "(temperature 0.3, top-p 0.6, top-k 2). Thinking can be "
        "turned off for quick answers.",
        "loading": "Loading **{model}**… {percent}% {message}",
        "loading_idle": "Waiting to load **{model}**…",
        "ready": "**{model}** · {family} · {quant} · loaded in {seconds:.1f} s",
        "ready_remote": "**{model}** · {family} · remote server {url}",
        "ready_scripted": "**{model}** · {family} · scripted replies",
        "load_error": "Could not load **{model}**: {error}",
        "remedy": "What to do: {remedy}",
        "remedy_weights": "check the model id or path, or try the app offline with "
        "`--model tiny-glm41v`",
        "remedy_memory": "load it with `--quant 4bit` or `--quant 8bit`, or use "
        "`--engine remote --url ...`",
        "remedy_dependency": "install the package named above and restart",
        "remedy_other": "see the message above; the app keeps running without a model",
        "memory": "Estimated weights memory",
        "no_quant": "no quantization",
        "still_loading": "The model is still loading ({status}); send again when it is ready.",
        "not_loaded": "The model could not be loaded: {error}",
        "busy": "A reply is still being generated in this tab; press Stop first.",
        "busy_login": "busy: a reply for your login is already being written (in another tab "
        "or program); wait for it to finish",
        "refused_file": "**{name}** was not attached: it {reason}",
        "refused_other": "**{name}** was not attached: {reason}",
        "refused_detached": "It was removed from the message; nothing else changed.",
        "password_needed": "{name} is encrypted: enter its password below.",
        "password": "PDF password",
        "password_placeholder": "Password of the encrypted PDF (never stored)",
        "cost_message": "**This message:** about {tokens:,} visual tokens",
        "cost_conversation": "**Conversation:** {earlier:,} visual tokens before this message, "
        "{total:,} with it, of {budget:,} available",
        "near_budget": "Close to the limit: later files may not fit; start a new conversation "
        "or use fewer pages or frames.",
        "not_sent": "Not sent: {reason}",
        "not_imported": "Not imported: {reason}",
        "empty": "type a message or attach a file first.",
        "model_switched": "The model is now **{model}**. Your conversation is kept; the next "
        "reply comes from the new model.",
        "range_hint_pages": "not all {total} pages are used: set the first and last PDF page "
        "under Media to choose others",
        "range_hint_slides": "not all {total} slides are used: set the first and last page "
        "under Media to choose others",
        "tokens": "~{n:,} visual tokens",
        "html_page": "HTML page in the answer",
        "show_preview": "Preview",
        "show_source": "Source",
        "download_html": "Download .html",
        "export": "Export / import",
        "export_format": "Format",
        "export_button": "Export conversation",
        "export_file": "Exported file",
        "import_button": "Import conversation (.json)",
        "imported": "Imported {n} turns.",
        "imported_one": "Imported 1 turn.",
        "nothing_to_regenerate": "There is no message to answer again yet.",
        "no_such_message": "There is no message {n} to edit.",
        "examples": "Examples",
        "nothing_to_export": "There is no conversation to export yet.",
        "edit_media": "Only the text of a message can be edited.",
        "start_hint": "Ask a question, or drop an image, a PDF, slides or a video into the box "
        "below.",
        "placeholder_busy": "A reply is being written… Stop ends it",
        "generating": "Writing a reply. **Stop** ends it; the other actions wait until it is done.",
        "queued": "Waiting for a free slot: other replies are being written. Yours starts "
        "by itself.",
        "waiting_first_token": "Reading the question…",
        "undo_busy": "Nothing was undone: a reply is still being written. Press Stop first, "
        "then Undo.",
        "clear_busy": "Nothing was cleared: a reply is still being written. Press Stop first.",
        "refused_detached_many": "They were removed from the message; nothing else changed.",
        "setting_clamped": "**{setting}** was {old}, more than {model} accepts (at most "
        "{limit}): it is now {new}.",
        "setting_defaults": "Settings you had not changed now use {model}'s defaults.",
        "thinking_always": "GLM-4.1V always thinks: your choice to turn thinking off applies "
        "again on GLM-4.5V.",
        "sampling_note_tiny": "**Tiny test checkpoint** (random weights): replies are word "
        "salad, and at most {n} new tokens by default so they come in "
        "seconds.",
        "stats_prompt": "{n} prompt tokens",
        "stats_visual": "{n} visual",
        "stats_reused": "{n} reused",
        "stats_generated": "{n} generated",
        "stats_first": "first token {s:.2f} s",
        "stats_rate": "{r:.1f} tok/s",
        "stats_peak": "peak {g:.2f} GiB",
        "more_settings": "More settings",
        "password_wrong": "{name}: the password is wrong. Try again.",
        "stats": "Stats",
    },
    "zh": {
        "title": "GLM-V 工作台",
        "subtitle": "用 GLM-4.1V-Thinking 与 GLM-4.5V 理解图片、文档、幻灯片和视频",
        "language": "语言",
        "chat": "对话",
        "placeholder": "就图片、PDF、幻灯片或视频提问；可拖放或粘贴文件",
        "input": "消息",
        "send": "发送",
        "stop": "停止",
        "regenerate": "重新生成",
        "undo": "撤销",
        "clear": "清空",
        "attachments": "附件",
        "boxes_on": "在 {label} 上绘制的框",
        "actions_on": "在 {label} 上绘制的操作",
        "legend": "图例",
        "col_box": "框",
        "col_label": "标签",
        "col_grid": "x1, y1, x2, y2（0-1000）",
        "col_pixels": "像素",
        "settings": "生成设置",
        "media_settings": "媒体设置",
        "system_prompt": "系统提示词",
        "system_placeholder": "可选：给模型的指示",
        "thinking_on": "思考模式（关闭可更快作答）",
        "thinking_budget": "思考预算（token，0 表示不限）",
        "temperature": "温度",
        "top_p": "Top-p",
        "top_k": "Top-k",
        "repetition_penalty": "重复惩罚",
        "max_new_tokens": "最大生成 token 数",
        "seed": "随机种子（-1 表示随机）",
        "pdf_first": "PDF 起始页（0 表示从头）",
        "pdf_last": "PDF 结束页（0 表示到末尾）",
        "pdf_tokens": "每页 PDF 的视觉 token（分辨率）",
        "video_fps": "视频每秒帧数",
        "video_max_frames": "视频最多帧数",
        "video_start": "视频开始（秒）",
        "video_end": "视频结束（秒，0 表示到末尾）",
        "image_mp": "图片像素上限（百万像素）",
        "model": "模型",
        "model_details": "模型",
        "model_choice": "检查点",
        "model_choice_info": "Hub ID、本地文件夹，或 tiny-glm41v / tiny-glm45v（无需下载）。"
        "加载会替换本应用所有用户正在使用的模型。",
        "model_quant": "权重",
        "remote_url": "或 OpenAI 兼容服务",
        "remote_model": "服务端模型名",
        "model_load": "为所有人加载",
        "estimate_local": "**{model}** 的 {option} 权重约需 **{need}**；{where} 当前可用 {free}。",
        "gpu_memory": "显存",
        "ram": "内存",
        "estimate_tight": "超过了可用内存：加载会被拒绝。请选择 4-bit、更小的模型或远程服务。",
        "estimate_unknown": "加载前无法得知 **{model}** 的大小（{reason}）。",
        "estimate_remote": "回答将来自 **{url}**；本机不加载任何模型。",
        "switch_off": "本应用已关闭切换模型（`--model-switch`）。",
        "switch_denied": "只有运营者可以切换模型：请用 GLMV_OPERATORS 中列出的账号登录。",
        "switching": "正在加载 **{model}**… {percent}%；加载完成前由当前模型继续服务。",
        "switch_note": "上次切换：{note}。",
        "prompt_cache": "保留的提示缓存",
        "sampling_note_near_greedy": "该模型总会思考，默认近似贪心解码，与 GLM-4.1V 模型卡示例一致"
        "（top-p 0.00001，top-k 2）：同样的问题得到同样的回答。想要更多变化可调高 top-p（如 0.8）；"
        "思考预算会在达到相应 token 数后结束思考。",
        "sampling_note_vendor": "混合推理模型（GLM-4.5V、GLM-4.6V、GLM-5.3-Flash）"
        "默认采用官方应用的设置"
        "（温度 0.3，top-p 0.6，top-k 2）。可关闭思考以更快作答。",
        "reuse_extend": "该模型的线性注意力层保存的状态无法回退：只有当新提示恰好延续保留的提示时，"
        "后续提问才会复用提示缓存，多轮对话很少如此。",
        "sampling_note_glm4v": "GLM-4.1V 默认近似贪心解码，与模型卡示例一致"
        "（top-p 0.00001，top-k 2）：同样的问题得到同样的回答。"
        "想要更多变化可调高 top-p（如 0.8）。",
        "sampling_note_glm4v_moe": "GLM-4.5V 默认采用官方应用的设置"
        "（温度 0.3，top-p 0.6，top-k 2）。可关闭思考以更快作答。",
        "loading": "正在加载 **{model}**… {percent}% {message}",
        "loading_idle": "等待加载 **{model}**…",
        "ready": "**{model}** · {family} · {quant} · 加载用时 {seconds:.1f} 秒",
        "ready_remote": "**{model}** · {family} · 远程服务 {url}",
        "ready_scripted": "**{model}** · {family} · 脚本回复",
        "load_error": "无法加载 **{model}**：{error}",
        "remedy": "处理办法：{remedy}",
        "remedy_weights": "检查模型 ID 或路径，或用 `--model tiny-glm41v` 离线试用",
        "remedy_memory": "用 `--quant 4bit` 或 `--quant 8bit` 加载，或使用 "
        "`--engine remote --url ...`",
        "remedy_dependency": "安装上面提到的软件包后重启",
        "remedy_other": "见上面的信息；没有模型时应用仍可运行",
        "memory": "权重显存/内存估计",
        "no_quant": "未量化",
        "still_loading": "模型仍在加载（{status}），加载完成后再发送。",
        "not_loaded": "模型无法加载：{error}",
        "busy": "此标签页仍在生成回答，请先点击停止。",
        "busy_login": "繁忙：您的登录名已有一个回答正在生成（在其他标签页或程序中），请等待其完成",
        "refused_file": "**{name}** 未能附加：{reason}",
        "refused_other": "**{name}** 未能附加：{reason}",
        "refused_detached": "该文件已从消息中移除；其余内容不变。",
        "password_needed": "{name} 已加密：请在下方输入密码。",
        "password": "PDF 密码",
        "password_placeholder": "加密 PDF 的密码（不会保存）",
        "cost_message": "**本条消息：** 约 {tokens:,} 个视觉 token",
        "cost_conversation": "**整个对话：** 此前 {earlier:,} 个视觉 token，加上本条共 {total:,}，"
        "上限 {budget:,}",
        "near_budget": "接近上限：后续文件可能放不下；请新建对话，或减少页数、帧数。",
        "not_sent": "未发送：{reason}",
        "not_imported": "未导入：{reason}",
        "empty": "请先输入消息或附加文件。",
        "model_switched": "模型已切换为 **{model}**。对话已保留；下一条回答将由新模型生成。",
        "range_hint_pages": "未使用全部 {total} 页：可在“媒体设置”中设置 PDF 起止页以选择其他页",
        "range_hint_slides": "未使用全部 {total} 张幻灯片："
        "可在“媒体设置”中设置起止页以选择其他幻灯片",
        "tokens": "约 {n:,} 个视觉 token",
        "html_page": "回答中的 HTML 页面",
        "show_preview": "预览",
        "show_source": "源码",
        "download_html": "下载 .html",
        "export": "导出 / 导入",
        "export_format": "格式",
        "export_button": "导出对话",
        "export_file": "导出的文件",
        "import_button": "导入对话（.json）",
        "imported": "已导入 {n} 轮对话。",
        "imported_one": "已导入 1 轮对话。",
        "nothing_to_regenerate": "还没有可以重新回答的消息。",
        "no_such_message": "没有第 {n} 条消息可编辑。",
        "examples": "示例",
        "nothing_to_export": "还没有可导出的对话。",
        "edit_media": "只能编辑消息中的文字。",
        "start_hint": "提出问题，或把图片、PDF、幻灯片或视频拖到下方输入框。",
        "placeholder_busy": "正在生成回答…点击“停止”可结束",
        "generating": "正在生成回答。点击**停止**可结束；其他操作在回答结束后可用。",
        "queued": "正在排队：其他回答正在生成，轮到时会自动开始。",
        "waiting_first_token": "正在阅读问题…",
        "undo_busy": "未撤销：回答仍在生成。请先点击停止，再撤销。",
        "clear_busy": "未清空：回答仍在生成。请先点击停止。",
        "refused_detached_many": "这些文件已从消息中移除；其余内容不变。",
        "setting_clamped": "**{setting}** 原为 {old}，超过了 {model} 的上限（最多 {limit}）："
        "现为 {new}。",
        "setting_defaults": "你未改动的设置现在使用 {model} 的默认值。",
        "thinking_always": "GLM-4.1V 总会思考：你关闭思考的选择在 GLM-4.5V 上仍然有效。",
        "sampling_note_tiny": "**微型测试检查点**（随机权重）：回答没有意义，默认最多生成 {n} "
        "个 token，几秒内即可完成。",
        "stats_prompt": "提示 {n} 个 token",
        "stats_visual": "视觉 {n}",
        "stats_reused": "复用 {n}",
        "stats_generated": "生成 {n} 个",
        "stats_first": "首个 token {s:.2f} 秒",
        "stats_rate": "{r:.1f} token/秒",
        "stats_peak": "峰值 {g:.2f} GiB",
        "more_settings": "更多设置",
        "password_wrong": "{name}：密码错误，请重试。",
        "stats": "统计",
    },
}


def t(lang: str, key: str, **values: object) -> str:
    """The string ``key`` in ``lang`` (English when missing), formatted with ``values``."""
    table = STRINGS.get(lang, STRINGS["en"])
    text = table.get(key) or STRINGS["en"].get(key, key)
    return text.format(**values) if values else text
