"""The reasons of :mod:`glmv_ui.reasons` in Chinese, and :func:`reason_text`, which writes an
error's reason in the session's language.

Each template here has the same key, the same named fields and the same format specs as its
English one (a test holds them together), so numbers read alike in both (``1,234``). A reason
about a file is a clause without a subject: it follows the file's name and a colon. Standard
library only; this module holds wording and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import GlmvError
from ..reasons import TEMPLATES, Reason, render

__all__ = ["ZH", "reason_line", "reason_text"]

ZH: dict[str, str] = {
    "": "{text}",
    "_list": "；",
    "_or": "或",
    "_comma": "、",
    "file.empty": "是空文件（0 字节）；请确认文件已完整保存后重新上传",
    "file.not_uploaded": "不是上传到本应用的文件：请从你的电脑附加该文件",
    "file.missing": "无法读取：上传的副本已不存在（上传的文件会在一段时间后过期）；请重新附加该文"
    "件",
    "file.unreadable": "无法读取：文件已损坏，或是本应用无法读取的形式；请另存为 JPEG、PNG、PDF 或"
    " MP4 后上传",
    "file.mismatch": "文件名表明是 {format}，内容却不是 {format}：文件已损坏或属于其他类型；请确认"
    "文件无误，或重新保存为 {format} 后上传",
    "file.unsupported": "不是本应用能读取的文件类型；请上传图片（JPEG、PNG、WebP、GIF、BMP、TIFF）"
    "、PDF 文档、幻灯片（PPTX、ODP、PPT）或视频（MP4、MOV、WebM、AVI、MKV）",
    "file.too_large": "大小为 {size_mb:,.0f} MB，上传文件最大为 {limit_mb:,} MB：请发送更小的文件",
    "file.old_office": "是旧版 Office 文档；这类文档中只能读取 PowerPoint 幻灯片（PPT）：请另存为 "
    "PDF 后上传",
    "file.heic": "是 HEIC 或 AVIF 照片，本应用无法读取；请转换为 JPEG 或 PNG 后上传",
    "file.svg": "是 SVG（矢量）图片，本应用无法读取；请导出为 PNG 后上传",
    "file.zip_damaged": "是损坏的 ZIP 压缩包，而且本应用不读取压缩包：请直接上传其中的文件",
    "file.zip_other": "是 ZIP 包，但不是幻灯片；本应用不读取文档、表格和压缩包：请把文档另存为 PDF"
    "，或直接上传压缩包中的文件",
    "rules.video_after_images": "无法加入本对话：对话中已有图片（PDF 页面和幻灯片也算作图片），而"
    "模型不能同时处理图片和视频；请为该视频新建对话",
    "rules.second_video": "无法加入本对话：对话中已有一个视频，而一个对话最多只能包含一个视频；请"
    "为该视频新建对话",
    "rules.images_after_video": "无法加入本对话：对话中已有视频，而模型不能同时处理视频和图片（PDF"
    " 页面和幻灯片也算作图片）；请为这些图片新建对话",
    "rules.too_many_images": "无法加入本对话：对话中已有 {limit:,} 张图片，已达上限（PDF 页面和幻"
    "灯片也算作图片）；请新建对话，或少发一些",
    "budget.over": "会使对话达到约 {total:,} 个视觉 token，超过了 {context:,} token 上下文中可用的"
    " {budget:,} 个；请{hints}",
    "budget.over_earlier": "会使对话从 {used:,} 个视觉 token 增加到约 {total:,} 个，超过了 "
    "{context:,} token 上下文中可用的 {budget:,} 个；请{hints}",
    "budget.pages": "选择页码范围或减少页数",
    "budget.images": "减少图片数量或降低图片分辨率",
    "budget.video": "减少帧数（降低每秒帧数或缩短时间范围）",
    "budget.new": "新建对话",
    "budget.less": "发送更少或更小的文件",
    "image.too_many_pixels": "像素过多，无法安全打开；只接受不超过 {limit:,} 百万像素的图片：请缩"
    "小尺寸后重新上传",
    "image.pixels": "尺寸为 {width}×{height} 像素，超过了可安全打开的 {limit:,} 百万像素；请缩小尺"
    "寸后重新上传",
    "image.jpeg_progressive": "是 {width}×{height} 像素的渐进式 JPEG（{channels} 个通道），解码时"
    "必须整张保存在内存中：需要 {decoded_mb:,.0f} MB，超过了每张图片可用"
    "的 {limit_mb:,} MB；请缩小尺寸或另存为基线 JPEG 后上传",
    "image.jpeg_multiscan": "是 {width}×{height} 像素的多扫描 JPEG（{channels} 个通道），解码时"
    "必须整张保存在内存中：需要 {decoded_mb:,.0f} MB，超过了每张图片可用"
    "的 {limit_mb:,} MB；请缩小尺寸或另存为基线 JPEG 后上传",
    "image.decoded": "解码后需要 {decoded_mb:,.0f} MB（{width}×{height} 像素，{channels} 个通道，"
    "每个 {bits} 位），超过了此处每张图片可用的 {limit_mb:,} MB；请缩小尺寸或另存"
    "为 JPEG 后上传",
    "image.aspect": "尺寸为 {width}×{height} 像素，长宽比超过了模型接受的 {ratio}:1；请裁成几段后"
    "分别上传",
    "image.tiff": "是本应用无法读取的 TIFF（其压缩方式或布局不受支持）；请另存为 PNG 或 JPEG 后上"
    "传",
    "image.unreadable": "无法作为图片读取：文件已损坏，或是本应用无法读取的格式；请另存为 PNG 或 J"
    "PEG 后上传",
    "image.format": "是 {format} 格式的图片，本应用无法读取；请另存为 PNG 或 JPEG 后上传",
    "image.damaged": "已损坏或不完整（可能下载或复制没有完成），无法读取；请上传完整的文件",
    "pdf.range": "无法显示第 {first}-{last} 页：该文件的页码为 1 到 {total:,}；请在此范围内选择",
    "pdf.no_room": "无法加入本对话：对话中的图片已达上限（PDF 页面也算作图片）；请为该文件新建对话",
    "pdf.unreadable": "不是可读取的 PDF：文件已损坏，或根本不是 PDF；请在 PDF 阅读器中打开，重新保"
    "存或打印为 PDF 后上传",
    "pdf.password": "受密码保护；请输入密码以打开",
    "pdf.wrong_password": "无法用该密码打开；请输入正确的密码",
    "pdf.damaged": "已损坏，无法读取任何页面；请在 PDF 阅读器中打开，重新保存或打印为 PDF 后上传",
    "pdf.no_pages": "没有任何页面，没有可读的内容；请上传其他文件",
    "pdf.image": "第 {number:,} 页中有一张 {width}×{height} 像素的图片（对象 {xref}），解码需要 "
    "{decoded_mb:,.0f} MB，超过了每张图片可用的 {limit_mb:,} MB；请以较小的图片另存 "
    "PDF 后上传",
    "pdf.images": "第 {number:,} 页中的 {count:,} 张图片合计解码需要 {decoded_mb:,.0f} MB，超过了每"
    "页可用的 {limit_mb:,} MB；请以较小的图片另存 PDF 后上传",
    "slides.image": "第 {number:,} 张幻灯片中有一张 {width}×{height} 像素的图片（对象 {xref}），解"
    "码需要 {decoded_mb:,.0f} MB，超过了每张图片可用的 {limit_mb:,} MB；请换用较小"
    "的图片后重新上传",
    "slides.images": "第 {number:,} 张幻灯片中的 {count:,} 张图片合计解码需要 {decoded_mb:,.0f} "
    "MB，超过了每张幻灯片可用的 {limit_mb:,} MB；请换用较小的图片后重新上传",
    "pdf.pattern": "含有一个填充图案（对象 {xref}），其单元为 {cell:.3g} 磅，在一页上要绘制 "
    "{tiles:,.0f} 次，超过了每页可用的 {limit:,} 次；请去掉它（重新打印为 PDF）"
    "后上传",
    "pdf.font": "含有解压后超过 {limit_mb:,} MB 的字体（对象 {xref}），远大于任何真实字体；请重新"
    "打印为 PDF 后上传",
    "pdf.page_damaged": "已损坏：第 {number:,} 页无法显示；请选择不含该页的页码范围，或重新保存为 "
    "PDF 后上传",
    "slides.range": "无法显示第 {first}-{last} 张幻灯片：该文件的幻灯片编号为 1 到 {total:,}；请在"
    "此范围内选择",
    "slides.no_room": "无法加入本对话：对话中的图片已达上限（幻灯片也算作图片）；请为该文件新建对"
    "话",
    "slides.slide_damaged": "已损坏：第 {number:,} 张幻灯片无法显示；请选择不含该张的范围，或重新"
    "保存后上传",
    "slides.none": "没有任何幻灯片，没有可显示的内容；请在其中添加幻灯片，或上传其他文件",
    "slides.office_missing": "无法显示：本服务器上绘制幻灯片的程序（LibreOffice）未能启动；请把幻"
    "灯片导出为 PDF 后上传",
    "slides.timeout": "转换用时超过 {seconds:g} 秒，已被停止；请上传更小的幻灯片，或导出为 PDF 后"
    "上传",
    "slides.memory": "无法转换：所需内存超过了此处每份幻灯片可用的 {limit_mb:,} MB；请上传更小的幻"
    "灯片（图片更少或更小），或导出为 PDF 后上传",
    "slides.unopenable": "无法作为幻灯片打开：文件已损坏或不是演示文稿；请重新另存为 PPTX 后上传",
    "slides.no_reader": "无法显示：本服务器没有读取幻灯片的程序；请把幻灯片导出为 PDF 后上传",
    "slides.pptx_only": "无法读取：此处没有 LibreOffice，只能读取 PPTX 幻灯片，而该文件不是 PPTX "
    "或已损坏；请另存为 PPTX 或 PDF 后上传",
    "slides.pptx_unopenable": "无法作为 PPTX 幻灯片打开：文件已损坏，或含有读取程序不认识的内容；"
    "请重新另存为 PPTX 或 PDF 后上传",
    "deck.dtd": "含有文档类型声明，幻灯片从不需要它，且它可以访问文件之外的内容；请重新另存为 "
    "PPTX 或 ODP 后上传",
    "deck.encoding": "含有一个以特殊编码保存的部分（{member}），LibreOffice 能读取它，却能绕过我们"
    "的检查；幻灯片应以标准编码保存：请重新另存为 PPTX 或 ODP 后上传",
    "deck.damaged": "已损坏或不完整，无法作为幻灯片打开；请重新另存为 PPTX 或 ODP 后上传",
    "deck.total": "解压后有 {total_mb:,.0f} MB；幻灯片解压后最多 {limit_mb:,} MB：请缩小其中的图片"
    "或删除视频，或导出为 PDF 后上传",
    "deck.total_over": "解压后超过 {limit_mb:,} MB，超出了幻灯片的上限；请缩小其中的图片或删除视频"
    "，或导出为 PDF 后上传",
    "deck.members": "由 {count:,} 个部件组成；幻灯片最多只能有 {limit:,} 个：请导出为 PDF 后上传",
    "deck.encrypted": "受密码保护；请去掉密码另存后上传",
    "deck.method": "采用了幻灯片从不使用的打包方式；请用制作它的程序打开，重新另存为 PPTX 或 ODP "
    "后上传",
    "deck.member_size": "其中的部件（{member}）解压后有 {size_mb:,.0f} MB；这类部件最多 "
    "{limit_mb:,} MB：请缩小其中的图片，或导出为 PDF 后上传",
    "deck.ratio": "其中的部件（{member}）压缩比为 {ratio:,.0f} 比 1，远高于正常文档（最多接受 "
    "{limit:,} 比 1），因此不予打开；请用制作它的程序重新保存",
    "deck.sizes": "已损坏：其目录与实际内容不符；请重新保存后上传",
    "deck.overflow": "已损坏：其中的部件（{member}）比目录记载的更大，因此不予打开；请用制作它的程"
    "序重新保存",
    "video.fps": "无法以每秒 {fps:g} 帧采样；请选择大于 0 的帧率",
    "video.max_frames": "无法在最多 {limit:,} 帧的限制下采样；请允许至少 1 帧",
    "video.unreadable": "不是可读取的视频：文件已损坏或不完整，或是本应用无法读取的格式；请重新导"
    "出为 MP4 后上传",
    "video.damaged": "已损坏：画面无法读取；请重新导出为 MP4 后上传",
    "video.no_stream": "没有画面，只有声音或其他数据；请上传带画面的视频",
    "video.range": "无法截取 {start:g}-{end:g} 秒：开始时间不能小于 0，结束时间须晚于开始时间；请"
    "修改时间范围",
    "video.range_after_end": "时长为 {duration:.1f} 秒，但时间范围从第 {start:g} 秒开始；请选择视"
    "频时长以内的开始时间",
    "video.frame_pixels": "画面为 {width}×{height} 像素（每帧解码后 {decoded_mb:,.0f} MB），超过了"
    "此处视频画面上限 {limit:,} 百万像素；请以不超过 3840×2160 的分辨率导"
    "出后上传",
    "preview.waiting": "其他附件正在读取；一有空闲就会读取您的附件（服务器每次只读取几个）",
    "video.no_size": "已损坏：画面没有尺寸；请重新导出为 MP4 后上传",
    "video.no_frames": "已损坏：无法读取任何一帧；请重新导出为 MP4 后上传",
    "message.too_long": "消息有 {length:,} 个字符；模型 {context:,} token 的上下文最多容纳 "
    "{limit:,} 个字符：请缩短，或分成几条消息发送",
    "context.mixed": "图片和视频不能在同一个对话中发送：请为该视频新建对话",
    "context.too_long": "对话已有 {tokens:,} 个 token，而模型的上下文最多容纳 {context:,} 个：请新"
    "建对话，或发送更少、更小的图片、页面或帧",
    "range.pages": "第 {first}–{last} 页（共 {total} 页）",
    "range.page": "第 {first} 页（共 {total} 页）",
    "range.slides": "第 {first}–{last} 张幻灯片（共 {total} 张）",
    "range.slide": "第 {first} 张幻灯片（共 {total} 张）",
    "range.frames": "{count} 帧，{start}–{end}（全长 {total}）",
    "note.used": "使用了{range}",
    "note.pages_capped": "使用了{range}；可选择页码范围查看其他页",
    "note.slides_capped": "使用了{range}；可选择幻灯片范围查看其他幻灯片",
    "note.repaired": "文件已损坏并已修复；部分内容可能缺失",
    "note.slides_summary": "未找到 LibreOffice：幻灯片以文字和图片摘要的形式显示（备用方式）",
    "note.first_frame": "动画 {format}：只使用了 {frames:,} 帧中的第一帧",
    "note.first_page": "有 {frames:,} 页的 {format}：只使用了第一页",
    "note.downscaled": "已从 {width}×{height} 像素缩小到 {new_width}×{new_height} 像素",
    "note.time_range": "使用了 {start:g}–{end:g} 秒（全长 {duration:.1f} 秒）",
    "note.frames_spread": "{frames:,} 帧分布在 {seconds:.0f} 秒内（少于每秒 {fps:g} 帧）",
    "note.single_frame": "只有一帧：已重复一次，凑成模型需要的两帧",
    "notice.stopped": "已停止：回答不完整。",
    "notice.failed": "回答失败：{detail}",
    "notice.truncated": "回答在思考阶段被截断：尚未作答就达到了长度上限。请提高最大生成 token "
    "数，或限制思考。",
    "notice.length": "回答达到了长度上限（{tokens:,} 个 token），可能不完整。",
    "notice.empty": "模型给出了空回答：没有写出任何内容就结束了。请重新生成，或换个方式提问。",
    "thinking.pending": "思考中",
    "thinking.done": "已思考",
    "thinking.done_in": "已思考 {seconds:.1f} 秒",
    "thinking.cut": "思考（达到长度上限被截断）",
    "import.at": "{file}：{where}",
    "import.turn": "第 {turn} 轮",
    "import.turn_part": "第 {turn} 轮第 {part} 部分",
    "import.turn_stats": "第 {turn} 轮的统计",
    "import.turn_settings": "第 {turn} 轮的设置",
    "import.part": "{file}（{where}，{source}）",
    "import.nested": "不是本应用导出的对话（数据嵌套过深）；请导入本应用导出的文件",
    "import.not_json": "不是有效的 JSON 文件（在第 {line:,} 行中断或格式有误）；请导入本应用导出的"
    "文件",
    "import.not_json_value": "不是有效的 JSON 文件；请导入本应用导出的文件",
    "import.failed": "无法导入：其内容不是本应用写出的格式；请重新导出对话后导入该文件",
    "import.not_text": "不是文本文件，而导出的对话是文本文件；请导入本应用导出的文件",
    "import.not_ours": "不是本应用导出的对话；请导入用“导出”保存的 JSON 文件",
    "import.newer": "由更新版本的本应用写出（格式 {version}）；请更新应用后再导入",
    "import.object": "必须是对象，而不是{actual}",
    "import.missing": "缺少 {key}",
    "import.too_long_text": "{key} 有 {count:,} 个字符；最多接受 {limit:,} 个",
    "import.too_long_list": "{key} 有 {count:,} 项；最多接受 {limit:,} 项",
    "import.type": "{key} 必须是{wanted}，而不是{actual}",
    "import.unknown_field": "有未知的字段 {key}",
    "import.one_of": "{key} 必须是 {allowed} 之一，而不是 {value}",
    "import.numbers": "页码和幻灯片编号从 1 开始",
    "import.note_type": "备注必须是{wanted}，而不是{actual}",
    "import.note_long": "有一条备注有 {count:,} 个字符；最多接受 {limit:,} 个",
    "import.frame_type": "视频帧必须是{wanted}，而不是{actual}",
    "import.time_type": "时间戳必须是{wanted}，而不是{actual}",
    "import.frames": "视频需要偶数个帧，且每帧都有时间戳",
    "import.video_frames": "是有 {frames:,} 帧的视频；视频最多采样 {limit:,} 帧：请在本应用中重新"
    "导出对话",
    "import.frame_sizes": "是各帧尺寸不同的视频；请在本应用中重新导出对话",
    "import.base64": "包含一张数据已损坏的图片（不是有效的 base64）；请在本应用中重新导出对话",
    "json.int": "整数",
    "json.float": "数字",
    "json.str": "字符串",
    "json.bool": "true 或 false",
    "json.None": "null",
    "json.list": "列表",
    "json.object": "对象",
    "url.too_large": "超过了上传文件最大 {limit_mb:,} MB 的限制；请发送更小的文件",
    "url.scheme": "不是 http(s) 或 data: 网址；请以网址或 data: 网址的形式传入每个文件",
    "url.private": "指向本机或私有网络，本应用不从这些地址下载；请使用公开地址，或直接上传文件",
    "url.status": "无法下载：服务器返回 HTTP 状态 {status}；请检查地址",
    "url.failed": "无法下载：无法连接服务器，或服务器中途停止响应；请检查地址后重试",
    "url.redirects": "无法下载：该地址重定向次数过多；请使用文件的最终地址",
    "url.total": "与其他文件合计超过了单次请求最多 {limit_mb:,} MB 的限制；请发送更少或更小的文件",
    "fetch.count": "共 {count} 个文件；单次请求最多 {limit} 个",
    "url.deadline": "无法在单次请求的文件限时 {seconds:g} 秒内下载完成；"
    "请使用更快的服务器或直接上传文件",
    "url.unresolvable": "主机名无法解析；请检查地址",
    "url.data": "不是有效的 data: 网址",
    "disk.full": "无法保存：服务器磁盘已满；请稍后再试",
}

_TABLES: dict[str, Mapping[str, str]] = {"en": TEMPLATES, "zh": ZH}
_COLON = {"en": ": ", "zh": "："}


def reason_line(wording: Reason, lang: str) -> str:
    """A reason that is not about a file (a notice), in ``lang``."""
    return render(wording, _TABLES.get(lang, TEMPLATES))


def reason_text(exc: BaseException, lang: str, *, subject: bool = True) -> str:
    """The message of ``exc`` in ``lang`` ("en" or "zh"; others get English).

    ``subject=False`` leaves out what the message is about (the file name), for a line that
    names the file itself. An error that is not a :class:`GlmvError` keeps its own text.
    """
    if not isinstance(exc, GlmvError):
        return str(exc)
    table = _TABLES.get(lang, TEMPLATES)
    text = render(exc.wording, table)
    who = render(exc.subject, table) if isinstance(exc.subject, Reason) else str(exc.subject)
    if not subject or not who:
        return text
    return f"{who}{_COLON.get(lang, ': ')}{text}"
