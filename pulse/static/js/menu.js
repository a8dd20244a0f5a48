/* The staff menu on a phone: one "Menu" button that opens and closes the list (a disclosure), instead of a menu
   that wraps to several lines. Works by keyboard: the button is a real button (Enter, Space), Escape closes the
   open menu and puts focus back on the button. Without this script the button stays hidden and the menu open. */
(function () {
  "use strict";
  var nav = document.querySelector(".main-nav");
  var button = nav && nav.querySelector(".menu-toggle");
  var list = nav && document.getElementById("main-menu");
  if (!button || !list) { return; }

  function set(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("menu-open", open);
  }

  nav.classList.add("menu-folds");
  button.hidden = false;
  set(false);
  button.addEventListener("click", function () {
    set(button.getAttribute("aria-expanded") !== "true");
  });
  nav.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      set(false);
      button.focus();
    }
  });
}());
