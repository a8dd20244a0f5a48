/* Pulse complaint box. Works without this script (people copy their reply key by hand); with it, a reply key can be
   kept in this browser (localStorage) and opened from the read page. A saved key leaves the browser only when its
   holder opens it (posted, never in an address). */
(function () {
  "use strict";
  var STORE = "pulse.boxKeys";

  function saved() {
    try { return JSON.parse(localStorage.getItem(STORE) || "[]"); } catch (e) { return []; }
  }

  function keep() {
    var button = document.getElementById("keep-key");
    var status = document.getElementById("key-saved");
    var messages = document.getElementById("key-messages");
    if (!button) { return; }
    button.addEventListener("click", function () {
      try {
        var all = saved().filter(function (k) { return k.key !== button.getAttribute("data-key"); });
        all.push({key: button.getAttribute("data-key"), category: button.getAttribute("data-category"),
                  date: button.getAttribute("data-date")});
        localStorage.setItem(STORE, JSON.stringify(all));
        status.textContent = messages.getAttribute("data-saved");
        button.disabled = true;
      } catch (e) {
        status.textContent = messages.getAttribute("data-failed");
      }
      status.focus();
    });
  }

  function list() {
    var section = document.getElementById("saved-keys");
    var form = document.getElementById("read-form");
    if (!section || !form) { return; }
    var keys = saved();
    if (!keys.length) { section.hidden = true; return; }
    var ul = document.getElementById("saved-list");
    keys.forEach(function (k) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button secondary";
      button.textContent = section.getAttribute("data-open") + ": " + k.category + ", " + k.date;
      button.addEventListener("click", function () {
        form.querySelector("input[name=key]").value = k.key;
        form.submit();
      });
      li.appendChild(button);
      ul.appendChild(li);
    });
    var forget = document.createElement("button");
    forget.type = "button";
    forget.className = "button secondary";
    forget.textContent = section.getAttribute("data-forget");
    forget.addEventListener("click", function () {
      try { localStorage.removeItem(STORE); } catch (e) { /* ignore */ }
      ul.textContent = "";
      var done = document.createElement("p");
      done.setAttribute("role", "status");
      done.textContent = section.getAttribute("data-forgotten");
      forget.replaceWith(done);
    });
    section.appendChild(forget);
  }

  document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
  keep();
  list();
}());
