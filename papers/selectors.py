"""Reads for the counter's papers: which result paper an item's finish gets, and the
applicant's latest signature of a paper."""

from counters.models import Case, CaseDocument

# Words of a guide's "result and delivery" (结果送达) saying a document is issued on the
# spot: the paper is then the record of the document handed over, otherwise a notice of
# completion (办结告知书).
_ISSUED_WORDS = ("出具", "打印", "开具", "证明", "凭证")


def result_paper_kind(case: Case) -> str:
    result = case.guide_snapshot.get("result") or case.item.result or ""
    name = case.guide_snapshot.get("name") or case.item.name
    issued = any(word in result for word in _ISSUED_WORDS) or any(
        word in name for word in ("证明", "凭证", "打印")
    )
    return "issued" if issued else "completion"


def case_paper_signature(case: Case, paper_label: str) -> CaseDocument | None:
    """The applicant's latest signature of a paper, as the pad gave it (shown on the
    paper when it is printed again)."""
    from scans.uploads import SIGNATURE_PREFIX

    return (
        case.documents.filter(display_name__startswith=f"{SIGNATURE_PREFIX}{paper_label}")
        .order_by("-uploaded_at", "-pk")
        .first()
    )
