"""Sign-in, sign-out, password reset and the language switch for the staff area."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from pulse.common import mail
from pulse.common.context import config, key, passwords, record_audit
from pulse.common.db import get_session
from pulse.common.mail import MailError
from pulse.common.paths import STAFF_PREFIX
from pulse.domain.crypto import KeyPurpose
from pulse.services import auth as auth_service
from pulse.staff.auth import bp
from pulse.staff.auth.forms import ForgotPasswordForm, LanguageForm, NewPasswordForm, SignInForm
from pulse.staff.auth.session import current_person, end_session, sign_in, sign_out


def safe_next(target: str | None) -> str:
    """Only follow ``next`` to a path inside the staff area of this site."""
    # Control characters (a line break above all) have no place in a Location header.
    if target and not any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith(STAFF_PREFIX + "/") \
                and not target.startswith("//"):
            return target
    return url_for("staff.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    if current_person() is not None:
        return redirect(safe_next(request.args.get("next")))
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    if form.validate_on_submit():
        cfg = config()
        db = get_session()
        try:
            person = auth_service.authenticate(
                db, passwords(), current_app.extensions["pulse.signin_guard"], email=form.email.data or "",
                password=form.password.data or "", client=request.remote_addr or "unknown")
        except auth_service.RateLimitedError:
            form.form_errors.append(_("Too many failed attempts. Wait %(minutes)d minutes and try again.",
                                      minutes=max(1, cfg.login_window_seconds // 60)))
            status = 429
        except auth_service.SignInError:
            form.form_errors.append(_("The e-mail address or the password is wrong."))
            status = 401
        else:
            # Nothing is written about the sign-in itself: a record of who signed in when, next to the moment an
            # answer arrived through "Answer now", would let a database administrator guess whose it is
            # (docs/ANONYMITY.md, "Answer now"). Only a first sign-in writes, to create the answer key.
            answer_key = auth_service.unlock_answer_key(person, passwords(), form.password.data or "")
            db.commit()
            sign_in(person, answer_key)
            return redirect(safe_next(form.next.data))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    # Every copy of the session's cookie stops working, not only this one.
    end_session()
    get_session().commit()
    flash(_("You are signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> Response | str | tuple[str, int]:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        db = get_session()
        cfg = config()
        created = auth_service.request_password_reset(
            db, key(KeyPurpose.TOKEN_HASH), key(KeyPurpose.RATE_LIMIT), email=form.email.data or "",
            valid_minutes=cfg.password_reset_minutes)
        if created is not None:
            person, token = created
            try:
                mail.send("password_reset", to=person.email, language=person.language, name=person.name,
                          link=f"{cfg.staff_url}{url_for('auth.reset_password', token=token)}",
                          minutes=cfg.password_reset_minutes)
            except MailError:
                # Answer exactly as for an unknown address (the failure is logged by pulse.common.mail): an error
                # page here would tell anyone which addresses have accounts while mail is down.
                db.rollback()
            else:
                record_audit(db, "auth.password_reset_requested", f"person:{person.id}", actor=person)
        db.commit()
        # The same answer whether or not the address is known, so the form cannot reveal who works here.
        flash(_("If the address belongs to an account, we have sent a link to it. It is valid for "
                "%(minutes)d minutes.", minutes=cfg.password_reset_minutes), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form), (400 if request.method == "POST" else 200)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response | str | tuple[str, int]:
    db = get_session()
    try:
        # A GET only looks the link up: mail scanners that open links must not use it up.
        auth_service.find_reset(db, key(KeyPurpose.TOKEN_HASH), token)
    except auth_service.ResetTokenError:
        return render_template("auth/reset_invalid.html"), 400
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            person = auth_service.complete_password_reset(
                db, key(KeyPurpose.TOKEN_HASH), passwords(), token=token, new_password=form.password.data or "")
        except auth_service.ResetTokenError:
            db.rollback()
            return render_template("auth/reset_invalid.html"), 400
        record_audit(db, "auth.password_reset", f"person:{person.id}", actor=person)
        db.commit()
        sign_out()
        flash(_("Your new password is saved. Sign in with it."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, token=token), (400 if request.method == "POST" else 200)


@bp.route("/language", methods=["POST"])
def set_language() -> Response:
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    language = form.language.data
    session["lang"] = language
    person = current_person()
    if person is not None and person.language != language:
        person.language = language
        get_session().commit()
    return redirect(safe_next(form.next.data) if form.next.data else url_for("staff.home"))
