"""A worker's archive as a PDF transcript for the records officer to hand over: the
certificates held (issued here or imported), titles, then every archive entry in order.
The archive is append-only, so a correction or a revocation is a later entry, printed
where it happened, never a change to an earlier line."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any, Final
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from policy.calendar import china_date
from policy.catalogue import NATIONAL_LEVEL_NAMES
from printing.fonts import SONG
from schemas.archive import WorkerArchive

# What each archive entry is called on paper.
ENTRY_NAMES: Final = {
    "registration_submitted": "报名 registration submitted",
    "registration_approved": "报名审核通过 registration approved",
    "registration_rejected": "报名未通过 registration rejected",
    "registration_expired": "报名过期 registration expired",
    "assessment_passed": "考核合格 assessment passed",
    "assessment_failed": "考核不合格 assessment failed",
    "score_corrected": "成绩更正 score corrected",
    "certificate_issued": "颁发证书 certificate issued",
    "certificate_imported": "导入既有证书 prior certificate imported",
    "certificate_withheld": "暂缓发证 certificate withheld",
    "certificate_revoked": "证书撤销 certificate revoked",
    "competition_result": "竞赛成绩 competition result",
    "promotion_granted": "竞赛晋级 promotion granted",
    "subsidy_granted": "补贴发放 subsidy granted",
    "subsidy_refused": "补贴未予发放 subsidy refused",
    "subsidy_held": "补贴暂缓 subsidy held",
    "subsidy_reviewed": "补贴复核 subsidy reviewed",
    "subsidy_clawed_back": "补贴追回 subsidy clawed back",
    "reward_granted": "奖励 reward granted",
    "title_eligible": "职称贯通 title eligibility",
}

_BODY: Final = ParagraphStyle("body", fontName=SONG, fontSize=9, leading=12)
_SMALL: Final = ParagraphStyle("small", parent=_BODY, fontSize=8, leading=10)
_HEADING: Final = ParagraphStyle("heading", parent=_BODY, fontSize=13, leading=18, spaceBefore=6)
_TITLE: Final = ParagraphStyle("title", parent=_BODY, fontSize=18, leading=24, alignment=1)


def _p(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(escape(text), style)


def _table(rows: list[list[Any]], widths: list[float]) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), SONG, 8),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e5e7eb")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9ca3af")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _level(level: int | None) -> str:
    return "" if level is None else f"{level} {NATIONAL_LEVEL_NAMES.get(level, '')}"


def _entry_details(entry: Any) -> str:
    details: dict[str, Any] = entry.details
    shown = [
        f"{key} {details[key]}"
        for key in (
            "occupation_code",
            "certificate_number",
            "body_id",
            "issuing_body",
            "checked_against",
            "component",
            "reason",
            "rule",
            "amount_fen",
            "title",
            "medal",
        )
        if details.get(key) not in (None, "")
    ]
    return "; ".join(shown)


def transcript_pdf(
    archive: WorkerArchive, holder: str, exported_by: str, exported_at: datetime
) -> bytes:
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title="职业技能档案 Worker archive transcript",
        author="SkillFlow records service",
        invariant=True,
    )
    story: list[Any] = [
        _p("职业技能电子档案摘录", _TITLE),
        _p("Electronic training archive — transcript", _SMALL),
        Spacer(1, 4 * mm),
        _p(f"姓名 Holder: {holder}"),
        _p(f"档案编号 Person key: {archive.person_key}", _SMALL),
        _p(
            f"导出 Exported: {china_date(exported_at).isoformat()} by {exported_by}; "
            f"{len(archive.timeline)} entries, append-only (corrections are later entries)",
            _SMALL,
        ),
        _p("证书 Certificates", _HEADING),
    ]
    rows: list[list[Any]] = [["证书编号 Number", "职业 Occupation", "等级 Level", "发证 Issued",
                              "来源 Source", "状态 Status"]]  # fmt: skip
    for certificate in archive.certificates:
        source = "导入 imported" if certificate.source == "imported" else "本系统 issued"
        if certificate.provenance:
            source += f" ({certificate.provenance.get('issuing_body', '')}; "
            source += f"checked {certificate.provenance.get('checked_against', '')} "
            source += f"{certificate.provenance.get('checked_on', '')})"
        rows.append(
            [
                _p(certificate.certificate_number, _SMALL),
                certificate.occupation_code,
                _p(_level(certificate.level), _SMALL),
                certificate.issued_on.isoformat(),
                _p(source, _SMALL),
                "撤销 revoked" if certificate.status == "revoked" else "有效 valid",
            ]
        )
    story.append(_table(rows, [42 * mm, 22 * mm, 26 * mm, 20 * mm, 50 * mm, 20 * mm]))
    if archive.titles:
        story.append(_p("职称贯通 Titles", _HEADING))
        title_rows: list[list[Any]] = [["职称 Title", "依据证书 Certificate", "持有自 Since"]]
        for title in archive.titles:
            title_rows.append(
                [title.title, _p(title.certificate_number, _SMALL), title.held_since.isoformat()]
            )
        story.append(_table(title_rows, [50 * mm, 70 * mm, 40 * mm]))
    story.append(_p("档案记录 Entries, in order", _HEADING))
    entry_rows: list[list[Any]] = [["#", "日期 Date", "记录 Entry", "等级 Level", "内容 Details"]]
    for number, entry in enumerate(archive.timeline, start=1):
        entry_rows.append(
            [
                str(number),
                china_date(entry.occurred_at).isoformat(),
                _p(ENTRY_NAMES.get(entry.entry_kind, entry.entry_kind), _SMALL),
                _p(_level(entry.level), _SMALL),
                _p(_entry_details(entry), _SMALL),
            ]
        )
    story.append(_table(entry_rows, [8 * mm, 20 * mm, 45 * mm, 25 * mm, 82 * mm]))
    document.build(story)
    return out.getvalue()
