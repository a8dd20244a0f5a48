/* Pulse answering pages. Works without this script (people type their code); with it:
   - the invitation link's #fragment (never sent to the server) is posted as the credential;
   - answers typed so far survive a dropped connection or a language switch (sessionStorage, this tab only);
   - a private copy of one's own answers can be kept in this browser (localStorage), never sent anywhere. */
(function () {
  "use strict";
  var STORE = "pulse.myAnswers";

  function reveal() {
    document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
  }

  function followLink() {
    var form = document.getElementById("start-form");
    if (!form || location.hash.indexOf("#t=") !== 0) { return; }
    var token = decodeURIComponent(location.hash.slice(3));
    // Take the token out of the address bar and history before anything else happens.
    history.replaceState(null, "", location.pathname + location.search);
    form.querySelector("[name=credential]").value = token;
    var notice = document.getElementById("opening-link");
    if (notice) { notice.hidden = false; }
    form.submit();
  }

  // The "opening your invitation" notice is true only while the link's code is on its way: a page brought back
  // with the Back button (from the browser's cache) must not still say it.
  window.addEventListener("pageshow", function (event) {
    var notice = document.getElementById("opening-link");
    if (notice && event.persisted) { notice.hidden = true; }
  });

  function keepDraft() {
    var form = document.getElementById("answer-form");
    if (!form || !window.sessionStorage) { return; }
    var key = "pulse.draft." + form.getAttribute("data-draft");
    try {
      var saved = JSON.parse(sessionStorage.getItem(key) || "{}");
      Object.keys(saved).forEach(function (name) {
        var value = saved[name];
        var radio = form.querySelector("input[type=radio][name='" + name + "'][value='" + value + "']");
        if (radio && !form.querySelector("input[name='" + name + "']:checked")) { radio.checked = true; }
        var area = form.querySelector("textarea[name='" + name + "']");
        if (area && !area.value) { area.value = value; }
      });
    } catch (e) { /* a broken draft is simply ignored */ }
    form.addEventListener("input", function () {
      var data = {};
      form.querySelectorAll("input[type=radio]:checked, textarea").forEach(function (el) { data[el.name] = el.value; });
      try { sessionStorage.setItem(key, JSON.stringify(data)); } catch (e) { /* storage full or disabled */ }
    });
  }

  function thanks() {
    var page = document.getElementById("thanks");
    if (!page) { return; }
    try { sessionStorage.removeItem("pulse.draft." + page.getAttribute("data-draft-done")); } catch (e) { /* ignore */ }
    var button = document.getElementById("keep-copy");
    var status = document.getElementById("copy-saved");
    var messages = document.getElementById("copy-messages");
    if (!button) { return; }
    button.addEventListener("click", function () {
      try {
        var copy = JSON.parse(document.getElementById("private-copy").content.textContent);
        copy.saved = new Date().toISOString().slice(0, 10);
        var all = JSON.parse(localStorage.getItem(STORE) || "[]").filter(function (c) {
          return !(c.survey === copy.survey && c.round === copy.round);
        });
        all.push(copy);
        localStorage.setItem(STORE, JSON.stringify(all));
        status.textContent = messages.getAttribute("data-saved");
        button.disabled = true;
      } catch (e) {
        status.textContent = messages.getAttribute("data-failed");
      }
      status.focus();
    });
  }

  function el(tag, text) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function mine() {
    var box = document.getElementById("my-answers");
    if (!box) { return; }
    var copies = [];
    try { copies = JSON.parse(localStorage.getItem(STORE) || "[]"); } catch (e) { copies = []; }
    box.textContent = "";
    if (!copies.length) { box.appendChild(el("p", box.getAttribute("data-empty"))); return; }
    copies.slice().reverse().forEach(function (copy) {
      var section = el("section");
      section.className = "card";
      var heading = el("h2");
      // The tense follows the date: "closes" while it is ahead, "closed" once it is past. The server then says
      // when the round really closed (a round can be closed early), and the heading follows that.
      var today = new Date().toISOString().slice(0, 10);
      var titled = function (closed, date) {
        heading.textContent = copy.survey + " – " + box.getAttribute("data-round").replace("{n}", copy.round) +
          " (" + box.getAttribute(closed ? "data-closed" : "data-closes").replace("{date}", date) + ")";
      };
      titled(copy.closes < today, copy.closes);
      section.appendChild(heading);
      var list = el("dl");
      list.className = "my-answers";
      var unitCells = {};
      (copy.answers || []).forEach(function (item) {
        list.appendChild(el("dt", item.question));
        var dd = el("dd", item.answer);
        var unit = el("span");
        unit.className = "unit-result";
        unitCells[item.code] = unit;
        dd.appendChild(unit);
        list.appendChild(dd);
      });
      var status = el("p");
      status.className = "hint";
      section.appendChild(status);
      if (copy.results && window.fetch) {
        // Only the unit's published, protected figures come back; nothing about this copy is sent.
        fetch(copy.results + "?lang=" + document.documentElement.lang, {credentials: "omit"})
          .then(function (r) { return r.json(); })
          .then(function (data) {
            if (data.round && data.round.date) { titled(data.round.closed, data.round.date); }
            if (data.status === "released") {
              Object.keys(unitCells).forEach(function (code) {
                if (data.figures[code] !== undefined) {
                  unitCells[code].textContent = " · " + box.getAttribute("data-unit") + ": " + data.figures[code];
                }
              });
            } else if (data.status === "not_yet") {
              status.textContent = box.getAttribute("data-not-yet");
            }
          })
          .catch(function () { /* offline: the copy is still shown */ });
      }
      if (copy.comment) {
        list.appendChild(el("dt", box.getAttribute("data-comment")));
        list.appendChild(el("dd", copy.comment));
      }
      section.appendChild(list);
      box.appendChild(section);
    });
    var clear = el("button", box.getAttribute("data-delete"));
    clear.type = "button";
    clear.className = "button secondary";
    clear.addEventListener("click", function () {
      localStorage.removeItem(STORE);
      box.textContent = "";
      var done = el("p", box.getAttribute("data-deleted"));
      done.setAttribute("role", "status");
      box.appendChild(done);
    });
    box.appendChild(clear);
  }

  reveal();
  followLink();
  keepDraft();
  thanks();
  mine();
}());
