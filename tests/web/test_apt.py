"""The APT pack: the page, its print view and its PDF show the same published figures as the gate returns; edits
to the discussion questions travel to the print view and the PDF and lose nothing when refused; a hidden unit's
pack shows nothing derivable, and no output of it carries more precision than the published figures."""

from __future__ import annotations

import base64
import datetime as dt
import html as htmllib
import io
import re
import xml.etree.ElementTree as ET

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse import disclosure
from pulse.domain.stats import mean_interval
from pulse.models import AuditEntry
from pulse.services.org import Scope
from tests.figures import Made, release_rounds, values
from tests.web.test_precision import FINE, ROUNDS, WL, chart_values, expected, no_finer_numbers, parse
from tests.web.test_precision import made as made  # noqa: F401 - the fixture
from tests.web.test_precision import sign_in as sign_in_admin
from tests.web.test_results import demo, sign_in  # noqa: F401 - the demo fixture

EVERYTHING = Scope(True, frozenset())


def pdf_text(data: bytes) -> str:
    """The PDF's text as a reader extracts it, whitespace normalised (lines wrap differently from the page)."""
    reader = PdfReader(io.BytesIO(data))
    lines = [line for page in reader.pages for line in page.extract_text().splitlines()
             if not re.fullmatch(r"Pulse · .* \d+/\d+", line.strip())]  # the footer of each page
    return norm(" ".join(lines))


def norm(text: str) -> str:
    return " ".join(text.split())


def section(html: str, heading_id: str) -> str:
    """The HTML of one section of the pack, by its heading's id."""
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return html[start:end]


def items(html: str, selector: str) -> list[str]:
    """Texts of the <li> (or <h3>) elements of a chunk of HTML, tags stripped."""
    return [norm(htmllib.unescape(re.sub(r"<[^>]+>", "", m))) for m in re.findall(rf"<{selector}[^>]*>(.*?)</{selector}>", html, re.S)]


def chart_svg(html: str) -> str:
    found = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert found is not None, "the pack has a chart"
    return base64.b64decode(found.group(1)).decode()


@pytest.mark.parametrize("language", ["sv", "en"])
def test_page_print_view_and_pdf_show_the_gates_figures(client: FlaskClient, demo, session: Session,  # type: ignore[no-untyped-def]  # noqa: F811
                                                        language: str) -> None:
    sign_in(client, "manager", session, language)
    release, unit = demo["release"], demo["jarva-mbk"]
    base = f"/staff/results/{release}/units/{unit}"
    html = client.get(base + "/apt").get_data(as_text=True)
    printed = client.get(base + "/apt/print").get_data(as_text=True)
    response = client.get(base + "/apt.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    pdf = pdf_text(response.data)
    reader = PdfReader(io.BytesIO(response.data))
    assert reader.trailer["/Root"]["/Lang"] == language

    gate = disclosure.unit_result(session, release, unit, EVERYTHING)
    assert gate.unit.published and gate.concerns and gate.strengths  # the demo's unit has something to talk about
    headline = re.findall(r'<span class="figure-value">([^<]+)</span>', html)
    assert headline == [str(gate.unit.respondents), f"{gate.unit.participation} %", str(gate.index)]
    for page in (html, printed):
        assert re.findall(r'<span class="figure-value">([^<]+)</span>', page) == headline
    summary = {"sv": f"{gate.unit.respondents} svarade. Deltagande {gate.unit.participation} %. "
                     f"Index {gate.index} av 100.",
               "en": f"{gate.unit.respondents} answered. Participation {gate.unit.participation} %. "
                     f"Index {gate.index} of 100."}[language]
    assert summary in pdf and summary in norm(html)

    strengths = items(section(html, "strengths-title"), "li")
    concerns = items(section(html, "concerns-title"), "h3")
    assert [s.split(" — ")[0] for s in strengths] == [r.question.text(language) for r in gate.strengths]
    assert [c.split(" — ")[0] for c in concerns] == [r.question.text(language) for r in gate.concerns]
    assert items(section(printed, "strengths-title"), "li") == strengths
    assert items(section(printed, "concerns-title"), "h3") == concerns
    for text in strengths + concerns:
        assert text in pdf, text
    # The discussion questions: textareas on the page, a list in print, bullets in the PDF — the same ones.
    prompts = items(section(printed, "concerns-title"), "li")
    assert len(prompts) >= 2 * len(gate.concerns)
    for prompt in prompts:
        assert prompt in pdf and prompt in html
    # Change since last time, row by row, with the uncertainty in words.
    rows = [r for r in parse(section(html, "change-title")).rows if len(r) == 3][1:]
    assert rows and rows == [r for r in parse(section(printed, "change-title")).rows if len(r) == 3][1:]
    clear = {"sv": ("ingen säker förändring", "upp", "ned"), "en": ("no clear change", "up", "down")}[language]
    for row in rows:
        assert row[2].startswith(clear)
        assert " ".join(row) in pdf, row
    # Flags, the action template and the agenda item.
    for row in gate.flags:
        assert row.question.text(language) in pdf and row.question.text(language) in section(html, "flags-title")
    header = {"sv": "Aktivitet Ansvarig Tidsplan Uppföljning", "en": "Activity Owner Timeline Follow-up"}[language]
    assert header in pdf
    agenda = re.search(r'<textarea id="agenda-text"[^>]*>(.*?)</textarea>', html, re.S)
    assert agenda is not None and norm(htmllib.unescape(agenda.group(1))) in pdf
    assert {"sv": "Arbetsmiljö", "en": "Work environment"}[language] in agenda.group(1)
    # The chart plots exactly the concerns' published means, in every output.
    assert chart_svg(html) == chart_svg(printed)
    trend = disclosure.trend(session, gate.release.survey_id, unit, EVERYTHING)
    published = {p.figures.mean for r in gate.concerns for p in trend.series[r.question.code] if p.figures.exact}
    points = chart_values(chart_svg(html))
    assert points and all(min(abs(v - m) for m in published if m is not None) < 1e-6 for v in points)
    # A round hidden for a concern is marked in the chart, with the label of hidden figures in its legend.
    hidden = any(not p.figures.exact for r in gate.concerns for p in trend.series[r.question.code])
    # Interval bars end exactly at the intervals of the published figures (mean, SD, n as published), clipped to the
    # scale: nothing finer.
    intervals = {end for r in gate.concerns for p in trend.series[r.question.code] if p.figures.exact
                 for end in (mean_interval(p.figures.mean, p.figures.sd, p.figures.n) or ()) if p.figures.mean}
    ends = interval_ends(chart_svg(html))
    assert ends and all(min(abs(e - i) for i in intervals | {1.0, 5.0}) < 1e-6 for e in ends), (ends, intervals)
    assert ({"sv": "för få svar", "en": "too few answers"}[language] in chart_svg(html)) == hidden
    # Every view and the download are in the audit log.
    logged = session.scalars(select(AuditEntry.action).where(AuditEntry.target == f"release:{release}")).all()
    assert logged.count("release.view_apt") == 2 and logged.count("release.export") == 1


def test_the_print_view_has_no_navigation(client: FlaskClient, demo, session: Session) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    sign_in(client, "manager", session, "en")
    printed = client.get(f"/staff/results/{demo['release']}/units/{demo['jarva-mbk']}/apt/print")
    text = printed.get_data(as_text=True)
    assert printed.status_code == 200 and 'class="print-view"' in text
    assert "main-nav" not in text and "subnav" not in text and "Back to the APT pack" in text


def test_edited_questions_go_to_print_and_pdf_and_are_kept_when_refused(client: FlaskClient, demo,  # type: ignore[no-untyped-def]  # noqa: F811
                                                                         session: Session) -> None:
    sign_in(client, "manager", session, "sv")
    release, unit = demo["release"], demo["jarva-mbk"]
    base = f"/staff/results/{release}/units/{unit}"
    gate = disclosure.unit_result(session, release, unit, EVERYTHING)
    first, *others = [r.question.code for r in gate.concerns]
    mine = "Hur fördelar vi passen i december?\n  Vem pratar med HR om vikarier?  \n\n"
    data = {f"prompts-{first}": mine}
    if others:
        data[f"prompts-{others[0]}"] = ""  # emptied: no questions for that concern
    pdf = pdf_text(client.post(base + "/apt.pdf", data=data).data)
    printed = client.post(base + "/apt/print", data=data).get_data(as_text=True)
    for text in ("Hur fördelar vi passen i december?", "Vem pratar med HR om vikarier?"):
        assert text in pdf and text in printed
    bank = items(section(client.get(base + "/apt/print").get_data(as_text=True), "concerns-title"), "li")
    assert bank and bank[0] not in pdf and bank[0] not in printed  # the first concern's bank questions are replaced
    # Too many lines, or too long a line: refused with a clear error, what was written is still there.
    many = "\n".join(f"Fråga {i}?" for i in range(7))
    refused = client.post(base + "/apt.pdf", data={f"prompts-{first}": many})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert "Skriv högst 5 frågor" in text and "Fråga 6?" in text
    control = client.post(base + "/apt.pdf", data={f"prompts-{first}": "Hej\x07där?"})
    assert control.status_code == 400 and "tecken som inte är text" in control.get_data(as_text=True)
    long = client.post(base + "/apt/print", data={f"prompts-{first}": "x" * 301})
    assert long.status_code == 400 and "för lång" in long.get_data(as_text=True) and "x" * 301 in long.get_data(as_text=True)


def test_outside_the_scope_is_not_found(client: FlaskClient, demo, session: Session) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    sign_in(client, "manager", session, "en")
    for suffix in ("/apt", "/apt/print", "/apt.pdf"):
        assert client.get(f"/staff/results/{demo['release']}/units/{demo['jarva-fritid']}{suffix}").status_code == 404
        assert client.get(f"/staff/results/999999/units/{demo['jarva-mbk']}{suffix}").status_code == 404


# --- the attacker ---------------------------------------------------------------------------------------------------


def numbers(text: str) -> list[str]:
    return re.findall(r"\d+(?:[.,]\d+)?", text)


def test_a_hidden_units_pack_shows_nothing_derivable(app: Flask, client: FlaskClient, session: Session) -> None:
    """Alfa (3 of 6 answered) is below k, so something else is hidden with it (else the department minus beta gives
    alfa). Every hidden unit's pack must show no figure in any form: no count, participation, index, mean, change,
    flag or chart — only what every pack says (the round and its date). The attacker reads the page, the print
    view and the PDF of every unit; the published ones show their own figures."""
    vi = "OSA-VI1"
    one = [{WL: 1, "OSA-SP1": 2, vi: 1}] * 3
    many = [{WL: v, "OSA-SP1": 4, vi: 0} for v in values({4: 5, 3: 3})]
    made = release_rounds(session, app, {"alfa": 6, "beta": 8}, [{"alfa": one, "beta": many}] * 2, k=5, k_dist=10)
    sign_in_admin(client)
    release = made.releases[-1]
    data = disclosure.load_release(session, release)
    units = [made.dept.id] + [t.id for t in made.teams.values()]
    hidden = [u for u in units if not data.total(u).published]
    assert made.teams["alfa"].id in hidden and len(hidden) >= 2
    allowed = set(numbers(f"{data.info.round_number} {data.info.closed_at.day} {data.info.closed_at.year}"))
    for unit in units:
        base = f"/staff/results/{release}/units/{unit}"
        html = client.get(base + "/apt").get_data(as_text=True)
        printed = client.get(base + "/apt/print").get_data(as_text=True)
        pdf = pdf_text(client.get(base + "/apt.pdf").data)
        if unit not in hidden:
            assert f"{data.total(unit).respondents} answered" in pdf
            continue
        for output in (html, printed):
            main = norm(htmllib.unescape(re.sub(r"<[^>]+>", " ", output[output.index("<h1"):output.index("</main>")])))
            assert "hidden" in main and "answered" not in main
            assert set(numbers(main)) <= allowed, (unit, set(numbers(main)) - allowed)
            assert "data:image" not in output and "Flags for risk assessment" not in output
            assert "<textarea" not in output.split("agenda-title")[0]  # no concerns to edit
        assert set(numbers(pdf)) <= allowed, set(numbers(pdf)) - allowed
        assert "Flags for risk assessment" not in pdf and "answered" not in pdf and "hidden" in pdf


def test_no_output_of_the_pack_is_finer_than_the_published_means(client: FlaskClient, made: Made) -> None:  # noqa: F811
    """Alfa's 41/15 is published as 2.7 and beta's 53/20 (2.65) as 2.7: the page, print view, PDF and chart
    (points and interval bars) carry those and nothing finer (tests/web/test_precision.py)."""
    sign_in_admin(client)
    means = expected(made)
    for unit, series in means.items():
        base = f"/staff/results/{made.releases[-1]}/units/{unit}"
        html = client.get(base + "/apt").get_data(as_text=True)
        printed = client.get(base + "/apt/print").get_data(as_text=True)
        pdf = pdf_text(client.get(base + "/apt.pdf").data)
        for output in (html, printed):
            no_finer_numbers(parse(output.replace(re.search(r"data:[^\"]+", output).group(0), "")))  # type: ignore[union-attr]
        assert not FINE.findall(pdf), FINE.findall(pdf)
        assert f"— {series[-1]}" in pdf  # the concern's published mean (English: a decimal point)
        svg = chart_svg(html)
        assert sorted(set(round(v, 6) for v in chart_values(svg))) == sorted(set(series))
        for end in interval_ends(svg):
            assert abs(end * 10 - round(end * 10)) < 1e-6, end  # one decimal, like the published figures
    assert len(ROUNDS) == 2


def interval_ends(svg: str) -> list[float]:
    """The y values of the interval bars (a line collection) of a chart, through its y axis ticks."""
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    ns = {"svg": "http://www.w3.org/2000/svg"}
    link = "{http://www.w3.org/1999/xlink}href"
    ticks = []
    for tick in root.iterfind(".//svg:g[@id]", ns):
        if tick.get("id", "").startswith("ytick_"):
            mark = next(u for u in tick.iterfind(".//svg:use", ns) if u.get(link))
            label = "".join(next(tick.iterfind(".//svg:text", ns)).itertext())
            ticks.append((float(mark.get("y", "nan")), float(label.replace("−", "-").replace(",", "."))))
    (y0, v0), (y1, v1) = ticks[0], ticks[-1]
    ends = []
    for group in root.iterfind(".//svg:g[@id]", ns):
        if group.get("id", "").startswith("LineCollection_"):
            for path in group.iterfind(".//svg:path", ns):
                found = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d", ""))]
                ends += [v0 + (y - y0) * (v1 - v0) / (y1 - y0) for y in found[1::2]]
    return ends


def test_trend_chart_has_intervals_axis_label_and_whole_legend(client: FlaskClient, demo,  # type: ignore[no-untyped-def]  # noqa: F811
                                                                session: Session) -> None:
    """The trends page's chart: interval bars at one decimal, hidden rounds marked, the x axis labelled "Omgång",
    and every legend entry whole (not cut at a character count)."""
    sign_in(client, "manager", session, "sv")
    survey = disclosure.release_info(session, demo["release"]).survey_id
    trend = disclosure.trend(session, survey, demo["jarva-mbk"], EVERYTHING)
    text = client.get(f"/staff/results/surveys/{survey}/units/{demo['jarva-mbk']}/charts/workload.svg"
                      ).get_data(as_text=True)
    ends = interval_ends(text)
    assert ends and all(abs(end * 10 - round(end * 10)) < 1e-6 for end in ends)
    assert ">Omgång<" in text and re.search(r">[1-5],[05]<", text)  # Swedish tick labels: "2,5"
    codes = [c for c, q in trend.questions.items() if q.area == "workload" and q.scale != "yesno"]
    for code in codes:
        label = norm(" ".join(re.findall(r">([^<>]*)</text>", text)))
        assert trend.questions[code].text("sv") in label
    assert ("för få svar" in text) == any(not p.figures.exact for c in codes for p in trend.series[c])


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_pack_shows_the_units_current_actions(client: FlaskClient, demo, session: Session,  # type: ignore[no-untyped-def]  # noqa: F811
                                                  language: str) -> None:
    """The demo's Rinkeby office has actions decided at its APT (one overdue): the pack lists those still to do
    or not followed up, with owner, date and status, on the page, in print and in the PDF."""
    from pulse.domain.sam import OPEN_ACTION_STATUSES, is_overdue
    from pulse.services import sam

    sign_in(client, "office", session, language)
    unit = demo["mbk-rinkeby"]
    base = f"/staff/results/{demo['release']}/units/{unit}"
    html = client.get(base + "/apt").get_data(as_text=True)
    printed = client.get(base + "/apt/print").get_data(as_text=True)
    pdf = pdf_text(client.get(base + "/apt.pdf").data)
    open_actions = [a for a in sam.actions(session, [unit]) if a.status in OPEN_ACTION_STATUSES]
    assert open_actions, "the demo has actions at Rinkeby"
    heading = {"sv": "Läget för våra pågående åtgärder", "en": "Status of our current actions"}[language]
    assert heading in html and heading in printed and heading in pdf
    for action in open_actions:
        text = norm(action.activity)
        assert text in norm(htmllib.unescape(section(html, "current-actions-title")))
        assert text in norm(htmllib.unescape(section(printed, "current-actions-title")))
        assert text in pdf
    overdue = {"sv": "försenad", "en": "overdue"}[language]
    # The unit's manager can take a flag or a concern straight to a risk assessment (not in print).
    assert f"/staff/sam/units/{unit}/risks/new" in html and "source=low_score" in html
    assert "risks/new" not in printed
    late = any(is_overdue(sam.dates_of(a), dt.datetime.now(dt.UTC).date()) for a in open_actions)
    assert (overdue in section(html, "current-actions-title")) == (overdue in pdf) == late


def test_the_start_page_leads_to_the_pack(client: FlaskClient, demo, session: Session) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """A manager opens the start page, sees their unit's newest results, and reaches its APT pack in one step."""
    sign_in(client, "office", session, "sv")
    home = client.get("/staff/").get_data(as_text=True)
    links = re.findall(r'href="(/staff/results/\d+/units/\d+/apt)">APT-underlag till mötet', home)
    assert f"/staff/results/{demo['release']}/units/{demo['mbk-rinkeby']}/apt" in links
    for link in links:
        assert client.get(link).status_code == 200


def test_the_pdf_is_a4_with_language_outline_embedded_fonts_and_the_charts_text(client: FlaskClient, demo,  # type: ignore[no-untyped-def]  # noqa: F811
                                                                                 session: Session) -> None:
    sign_in(client, "manager", session, "sv")
    base = f"/staff/results/{demo['release']}/units/{demo['jarva-mbk']}"
    reader = PdfReader(io.BytesIO(client.get(base + "/apt.pdf").data))
    html = client.get(base + "/apt").get_data(as_text=True)
    assert 1 <= len(reader.pages) <= 3
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width - 595.28) < 1 and abs(height - 841.89) < 1  # A4 in points
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "sv" and bool(root["/MarkInfo"]["/Marked"])
    outline = [item.title for item in reader.outline if not isinstance(item, list)]
    outline += [i.title for item in reader.outline if isinstance(item, list) for i in item if not isinstance(i, list)]
    for heading in ("Styrkor", "Att prata om", "Förändring sedan förra gången", "Åtgärder",
                    "Dagordningspunkt att kopiera"):
        assert heading in outline, outline
    fonts = [f.get_object() for page in reader.pages for f in page["/Resources"]["/Font"].values()]
    assert fonts and all("/FontFile2" in f["/DescendantFonts"][0].get_object()["/FontDescriptor"] for f in fonts)

    def alts(node: object) -> list[str]:
        node = node.get_object()  # type: ignore[attr-defined]
        found = [str(node["/Alt"])] if "/Alt" in node else []
        kids = node.get("/K")
        for kid in kids if isinstance(kids, list) else [kids]:
            if hasattr(kid, "get_object") and isinstance(kid.get_object(), dict):
                found += alts(kid)
        return found

    alt = re.search(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="([^"]+)"', html)
    assert alt is not None and htmllib.unescape(alt.group(1)) in alts(root["/StructTreeRoot"])


# --- a mean shown only as a bound is a concern too ------------------------------------------------------------------

WL_TEXT = "I can get my work done within my normal working hours."
SP_TEXT = "At my workplace, people can raise problems without being afraid of what happens next."


@pytest.fixture
def bottom(session: Session, app: Flask) -> Made:
    """Alfa's three all answer 1 to the workload item in round 2 (3.0 in round 1): published only as "≤ 1.5", which
    is the worst result a unit can have — it must be alfa's first concern. Beta keeps the department's figures
    apart (k = 3, k_dist = 5: a group of 3 has means, censored near the ends, and no distribution)."""
    wl, sp = WL, "OSA-SP1"
    beta = [{wl: w, sp: s} for w, s in zip((4, 3, 5, 4, 2, 3), (4, 4, 3, 4, 5, 4), strict=True)]
    rounds = [{"alfa": [{wl: 3, sp: s} for s in (2, 3, 4)], "beta": beta},
              {"alfa": [{wl: 1, sp: s} for s in (3, 3, 4)], "beta": beta}]
    return release_rounds(session, app, {"alfa": 3, "beta": 6}, rounds, k=3, k_dist=5)


def test_everyone_at_the_bottom_is_the_first_concern_everywhere(client: FlaskClient, bottom: Made,
                                                                session: Session) -> None:
    from pulse.domain.questionbank import DISCUSSION

    sign_in_admin(client)
    release, alfa = bottom.releases[-1], bottom.teams["alfa"].id
    gate = disclosure.unit_result(session, release, alfa, EVERYTHING)
    assert gate.concerns[0].question.code == WL and gate.concerns[0].now.bound
    assert WL not in [r.question.code for r in gate.strengths]
    # The overview: first under "To talk about", with its bound and the link to assess it as a risk.
    overview = client.get(f"/staff/results/{release}/units/{alfa}").get_data(as_text=True)
    assert items(section(overview, "concerns-title"), "li")[0].startswith(f"{WL_TEXT} ≤ 1.5")
    base = f"/staff/results/{release}/units/{alfa}"
    html = client.get(base + "/apt").get_data(as_text=True)
    printed = client.get(base + "/apt/print").get_data(as_text=True)
    pdf = pdf_text(client.get(base + "/apt.pdf").data)
    for page in (html, printed):
        concerns = items(section(page, "concerns-title"), "h3")
        assert concerns[0] == f"{WL_TEXT} — ≤ 1.5" and concerns[1].startswith(SP_TEXT), concerns
    # The PDF: the same line first, then "no comparison", then the bank's questions for workload.
    talk = pdf[pdf.index("To talk about"):]
    assert talk.index(f"{WL_TEXT} — ≤ 1.5") < talk.index(SP_TEXT)
    assert f"{WL_TEXT} — ≤ 1.5 Since the round before: too few answers to compare" in pdf
    for prompt in DISCUSSION["workload"]:
        assert prompt in pdf and prompt in printed and prompt in html
    assert "Which tasks take more time" in norm(section(printed, "concerns-title"))


def test_a_bound_concern_shows_nothing_finer_than_its_bound(client: FlaskClient, bottom: Made,
                                                             session: Session) -> None:
    """The attacker reads alfa's pack (page, print view, PDF, chart and its text) for the workload item: only the
    bound "≤ 1.5" — no mean (1.0), no answered count, no change from round 1's 3.0, no plotted point."""
    sign_in_admin(client)
    release, alfa = bottom.releases[-1], bottom.teams["alfa"].id
    base = f"/staff/results/{release}/units/{alfa}"
    html = client.get(base + "/apt").get_data(as_text=True)
    printed = client.get(base + "/apt/print").get_data(as_text=True)
    pdf = pdf_text(client.get(base + "/apt.pdf").data)
    for page in (html, printed):
        block = norm(htmllib.unescape(re.sub(r"<[^>]+>", " ", section(page, "concerns-title"))))
        wl_block = block[block.index(WL_TEXT):block.index(SP_TEXT)]
        assert set(numbers(wl_block)) == {"1.5"}, wl_block
        assert "too few answers to compare" in wl_block
        # Not in "Change since last time": a bound has no change.
        change_rows = [r for r in parse(section(page, "change-title")).rows if len(r) == 3][1:]
        assert all(WL_TEXT not in row[0] for row in change_rows)
    wl_pdf = pdf[pdf.index(f"{WL_TEXT} — ≤ 1.5"):]
    wl_pdf = wl_pdf[:wl_pdf.index(SP_TEXT)]
    assert set(numbers(wl_pdf)) == {"1.5"}, wl_pdf
    assert not FINE.findall(pdf)
    change = pdf[pdf.index("Change since last time"):pdf.index("Status of our current actions")]
    assert WL_TEXT not in change
    # The chart: round 1's published 3.0 is plotted; round 2's bound only as its text, and so said in the alt text.
    svg = chart_svg(html)
    trend = disclosure.trend(session, bottom.survey.id, alfa, EVERYTHING)
    published = {p.figures.mean for code in (WL, "OSA-SP1") for p in trend.series[code] if p.figures.exact}
    points = chart_values(svg)
    assert points and all(min(abs(v - m) for m in published if m is not None) < 1e-6 for v in points)
    assert all(abs(v - 1.0) > 1e-6 for v in points)
    drawn = ["".join(t.itertext()).strip() for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]  # noqa: S314
    assert "≤ 1.5" in drawn  # written on the chart as text, at the axis, not plotted
    alt = re.search(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="([^"]+)"', html)
    assert alt is not None and f"{WL_TEXT} — round 1: 3.0, round 2: ≤ 1.5." in htmllib.unescape(alt.group(1))
