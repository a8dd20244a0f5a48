"""Plain-language descriptions of organisation-file problems (shared by the admin pages and the CLI)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext

from pulse.domain.moves import Gap
from pulse.domain.orgcsv import Problem


def describe(problem: Problem) -> str:
    """The problem as one translated sentence, without the file and line (shown beside it)."""
    p = problem.params
    messages = {
        "not_utf8": lambda: _("The file is not UTF-8 text. In Excel, save it as \u201cCSV UTF-8\u201d."),
        "not_text": lambda: _("The file is not a text file. Upload a CSV file."),
        "empty_file": lambda: _("The file is empty."),
        "missing_columns": lambda: _("Columns are missing: %(columns)s. The first line must name the columns: "
                                     "%(expected)s.", columns=p["columns"], expected=p["expected"]),
        "duplicate_columns": lambda: _("A column is named twice: %(columns)s.", columns=p["columns"]),
        "too_many_fields": lambda: _("The line has %(found)s fields but the header only %(expected)s.",
                                     found=p["found"], expected=p["expected"]),
        "bad_csv": lambda: _("The line is not valid CSV (%(detail)s).", detail=p["detail"]),
        "missing_value": lambda: _("The column %(column)s is empty.", column=p["column"]),
        "too_long": lambda: _("The value in %(column)s is longer than %(max)s characters.", column=p["column"],
                              max=p["max"]),
        "duplicate_unit": lambda: _("The unit id %(unit)s is already used on line %(line)s.", unit=p["unit_id"],
                                    line=p["first_line"]),
        "unknown_parent": lambda: _("The parent unit %(parent)s of %(unit)s is not in the file.",
                                    parent=p["parent_id"], unit=p["unit_id"]),
        "cycle": lambda: _("The units form a loop: %(units)s. A unit cannot be placed below itself.",
                           units=p["units"]),
        "bad_email": lambda: _("%(email)s is not a valid e-mail address.", email=p["email"]),
        "duplicate_email": lambda: _("The e-mail address %(email)s is already used on line %(line)s.",
                                     email=p["email"], line=p["first_line"]),
        "bad_role": lambda: _("Unknown role %(role)s. Use: %(allowed)s.", role=p["role"], allowed=p["allowed"]),
        "manager_without_units": lambda: _("The role manager needs at least one unit in the column manages."),
        "manages_without_role": lambda: _("The column manages is filled in, but the roles do not include manager."),
        "safety_rep_without_area": lambda: _("The role safety_rep needs at least one unit in the column "
                                             "safety_area."),
        "safety_area_without_role": lambda: _("The column safety_area is filled in, but the roles do not include "
                                              "safety_rep."),
        "bad_language": lambda: _("Unknown language %(language)s. Use: %(allowed)s.", language=p["language"],
                                  allowed=p["allowed"]),
        "bad_status": lambda: _("Unknown status %(status)s. Use: %(allowed)s.", status=p["status"],
                                allowed=p["allowed"]),
        "unknown_unit": lambda: _("The unit %(unit)s is not in %(file)s.", unit=p["unit_id"], file=p["file"]),
        "unknown_units_in_list": lambda: _("The column %(column)s names units that are not in %(file)s: %(units)s.",
                                           column=p["column"], file=p["file"], units=p["units"]),
        "no_admin_left": lambda: _("Nobody in the file has the role admin. At least one administrator must remain."),
        "removes_own_admin": lambda: _("The import would take away your own administrator access (%(email)s). "
                                       "Add yourself to the file with the role admin.", email=p["email"]),
    }
    factory = messages.get(problem.code)
    return factory() if factory else problem.code


def describe_gap(gap: Gap, unit_name: str, k: int) -> str:
    """A gap in the organisation (pulse/domain/moves.py) as one translated sentence."""
    if gap.code == "below_k":
        return ngettext("Only %(num)d person's answers would count in %(unit)s, fewer than %(k)d: they are counted "
                        "together with the unit above.",
                        "Only %(num)d people's answers would count in %(unit)s, fewer than %(k)d: they are counted "
                        "together with the unit above.", gap.people, unit=unit_name, k=k)
    if gap.code == "no_manager":
        return _("%(unit)s has no manager: nobody leads it or a unit above it, so no manager sees its results.",
                 unit=unit_name)
    return _("%(unit)s is in no safety representative's safety area.", unit=unit_name)
