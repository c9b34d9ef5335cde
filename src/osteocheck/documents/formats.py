"""Render a `documents.Document` as Markdown (plain Python), HTML (a Jinja2 template) or PDF (fpdf2).

Every piece of text is escaped for its format: Markdown by `markdown()` on each piece, HTML through
autoescaping, and in the PDF it is drawn as text with terminal controls removed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from osteocheck.documents.content import Document
from osteocheck.errors import OutputError
from osteocheck.render.escape import markdown, plain

_HERE = Path(__file__).resolve().parent
FORMATS = ("markdown", "html", "pdf")
EXTENSIONS = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".pdf": "pdf"}


def pick_format(explicit: str | None, output: str) -> str:
    """--format if given, else by the output file's extension, else Markdown."""
    if explicit:
        return explicit
    return EXTENSIONS.get(Path(output).suffix.lower(), "markdown") if output != "-" else "markdown"


def _environment(*, html: bool) -> Any:
    import jinja2  # noqa: PLC0415 - only when a document is rendered

    def finalize(value: object) -> object:
        return markdown(str(value)) if not html and value is not None else value

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=html,  # noqa: S701 - Markdown is escaped by `finalize` instead; HTML is autoescaped
        finalize=finalize,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


DOTS = "…………………………………………………………"  # a line to write on


def to_markdown(doc: Document) -> str:
    """Markdown in plain Python (no template engine to load for the everyday sheet); every piece of
    text goes through `markdown()`, the escaping the HTML template gets from autoescaping."""
    md = markdown
    out = [f"# {md(doc.title)}\n\n"]
    out += [f"- {md(key)}: {md(value)}\n" for key, value in doc.meta]
    out.append("\n")
    out += [f"{md(line)}\n\n" for line in doc.intro]
    for section in doc.sections:
        out.append(f"## {md(section.heading)}\n\n")
        for e in section.entries:
            out.append(f"- {'[ ] ' if e.check else ''}{md(e.text)}\n")
            out += [f"  - Why: {md(e.why)}\n"] if e.why else []
            out += [f"  - Source: {md(e.cite)}\n"] if e.cite else []
            out += [f"  - Notes: {DOTS}\n"] if e.notes else []
        out.append("\n")
    out += [f"{md(line)}\n\n" for line in doc.closing.splitlines()]
    if doc.reply:
        out.append("## Your reply\n\n")
        out += [f"{md(line)} {DOTS}\n\n" for line in doc.reply]
    out.append(f"---\n\nSources: {'; '.join(md(source) for source in doc.sources)}.\n")
    return "".join(out)


def to_html(doc: Document) -> str:
    # Autoescaping handles HTML; `plain` first removes control characters, which HTML would keep.
    clean = _map_text(doc, plain)
    text: str = _environment(html=True).get_template("document.html.j2").render(doc=clean)
    return text


def _map_text(doc: Document, fn: Any) -> Document:
    """The same document with `fn` applied to every piece of text in it."""
    sections = tuple(
        s._replace(
            heading=fn(s.heading),
            entries=tuple(e._replace(text=fn(e.text), why=fn(e.why), cite=fn(e.cite)) for e in s.entries),
        )
        for s in doc.sections
    )
    return doc._replace(
        title=fn(doc.title),
        meta=tuple((fn(k), fn(v)) for k, v in doc.meta),
        intro=tuple(fn(i) for i in doc.intro),
        sections=sections,
        sources=tuple(fn(s) for s in doc.sources),
        closing=fn(doc.closing),
        reply=tuple(fn(r) for r in doc.reply),
    )


def _pdf(doc: Document, made: list[Any]) -> bytes:
    from fpdf import FPDF  # noqa: PLC0415 - only when a PDF is made

    doc = _map_text(doc, plain)
    fonts = _HERE / "fonts"
    closing_note = "Discuss any change with your healthcare provider." if doc.kind == "selfcare" else doc.title

    class Sheet(FPDF):
        def footer(self) -> None:
            self.set_y(-14)
            self.set_font("DejaVu", size=8)
            self.set_text_color(90, 102, 117)
            self.cell(0, 6, f"{closing_note}   Page {self.page_no()}/{{nb}}", align="C")

    pdf = Sheet(format="A4")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    made.append(pdf)  # so its font files are closed whatever happens next
    pdf.set_title(doc.title)
    pdf.set_creator("osteocheck")
    pdf.add_page()
    _check_glyphs(pdf, doc)
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def para(
        text: str,
        *,
        size: float = 10.5,
        bold: bool = False,
        color: tuple[int, int, int] = (29, 39, 51),
        indent: float = 0,
    ) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.set_text_color(*color)
        pdf.set_x(pdf.l_margin + indent)
        pdf.multi_cell(width - indent, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")

    para(doc.title, size=18, bold=True, color=(36, 91, 143))
    pdf.ln(1)
    para("   ".join(f"{k}: {v}" for k, v in doc.meta), size=9.5, color=(90, 102, 117))
    pdf.ln(3)
    for line in doc.intro:
        para(line)
        pdf.ln(1.5)

    def heading(text: str) -> None:
        pdf.ln(2)
        para(text, size=12.5, bold=True)
        y = pdf.get_y()
        pdf.set_draw_color(201, 211, 222)
        pdf.line(pdf.l_margin, y, pdf.l_margin + width, y)
        pdf.ln(2)

    for section in doc.sections:
        heading(section.heading)
        for entry in section.entries:
            mark = "☐" if entry.check else "•"
            pdf.set_font("DejaVu", "", 10.5)
            pdf.set_text_color(29, 39, 51)
            pdf.cell(6, 5.25, mark)
            pdf.multi_cell(width - 6, 5.25, entry.text, align="L", new_x="LMARGIN", new_y="NEXT")
            if entry.why:
                para(f"Why: {entry.why}", size=9, color=(90, 102, 117), indent=6)
            if entry.cite:
                para(f"Source: {entry.cite}", size=8.5, color=(90, 102, 117), indent=6)
            if entry.notes:
                pdf.ln(5)
                y = pdf.get_y()
                pdf.set_draw_color(150, 160, 170)
                pdf.set_dash_pattern(dash=1, gap=1)
                pdf.line(pdf.l_margin + 6, y, pdf.l_margin + width, y)
                pdf.set_dash_pattern()
            pdf.ln(1.5)
    pdf.ln(4)
    for line in doc.closing.splitlines():
        para(line)
    if doc.reply:
        if pdf.get_y() > pdf.h - 80:
            pdf.add_page()  # the reply is filled in by hand: keep it on one page
        heading("Your reply")
        for line in doc.reply:
            pdf.ln(4)
            para(line)
            y = pdf.get_y()
            pdf.set_draw_color(90, 102, 117)
            pdf.line(pdf.l_margin + 25, y - 1, pdf.l_margin + width, y - 1)
    pdf.ln(4)
    para("Sources: " + "; ".join(doc.sources) + ".", size=8.5, color=(90, 102, 117))
    data = pdf.output()
    if not isinstance(data, (bytes, bytearray)):  # None only when given a file name; typed so up to fpdf2 2.8.8
        raise OutputError("the PDF library returned no document")
    return bytes(data)


def to_pdf(doc: Document) -> bytes:
    made: list[Any] = []
    try:
        return _pdf(doc, made)
    finally:
        for pdf in made:  # fontTools keeps each font file open until it is closed
            for font in pdf.fonts.values():
                ttfont = getattr(font, "ttfont", None)
                if ttfont is not None:
                    ttfont.close()


def _check_glyphs(pdf: Any, doc: Document) -> None:
    """Fail closed rather than print a name or point the font cannot show."""
    pdf.set_font("DejaVu", "", 10)
    cmap = pdf.current_font.cmap
    texts = [doc.title, doc.closing, *doc.intro, *doc.sources, *(v for kv in doc.meta for v in kv)]
    for s in doc.sections:
        texts += [s.heading, *(t for e in s.entries for t in (e.text, e.why, e.cite))]
    texts += doc.reply
    missing = sorted({ch for text in texts for ch in text if ch not in "\n" and ord(ch) not in cmap})
    if missing:
        shown = "".join(missing[:10])
        raise OutputError(
            f"the PDF font cannot show some characters ({shown!r}); use --format html or markdown for this document"
        )


def render(doc: Document, output_format: str) -> str | bytes:
    if output_format == "pdf":
        return to_pdf(doc)
    if output_format == "html":
        return to_html(doc)
    return to_markdown(doc)
