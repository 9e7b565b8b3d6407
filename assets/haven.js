// Haven pages work without this file. With it: quick exit also on Esc, "use my location"
// coarsened in the browser before anything is sent, and searches answered in place. Nothing is
// stored in the browser.
(function () {
  "use strict";
  var exit = document.getElementById("quick-exit");
  function leave(event) {
    if (event) { event.preventDefault(); }
    // replace(), not assign(): this page leaves the history, so Back does not return to it.
    window.location.replace(exit.getAttribute("data-to") || exit.href);
  }
  // Esc works only where this script runs, so only here does the safety note mention it.
  function showEscHints() {
    var hints = document.querySelectorAll(".esc-hint");
    for (var i = 0; i < hints.length; i++) { hints[i].hidden = false; }
  }
  // Esc leaves from the survivor pages, where a person may need to hide the screen at once;
  // not from the console, where staff press Esc to close a suggestion list mid-call.
  var escLeaves = window.location.pathname.indexOf("/console") !== 0;
  if (exit) {
    exit.addEventListener("click", leave);
  }
  if (exit && escLeaves) {
    showEscHints();
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { leave(event); }
    });
    // Moving between the survivor pages (the other language, home) replaces the page too,
    // so the visit stays one history entry, which Quick exit replaces in turn.
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[href]") : null;
      if (!link || link === exit || link.origin !== window.location.origin || link.target) {
        return;
      }
      // A jump within the page ("Lines to call or text") moves there without a history
      // entry: one would be a page of Haven that Quick exit could not replace.
      if (link.hash && link.pathname === window.location.pathname) {
        var target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
        if (target) {
          event.preventDefault();
          target.setAttribute("tabindex", "-1");
          target.scrollIntoView();
          target.focus({ preventScroll: true });
        }
        return;
      }
      event.preventDefault();
      window.location.replace(link.href);
    });
  }

  // A search is sent from here and its answer replaces the page's main part, so a visit of
  // many searches leaves one history entry, which Quick exit then replaces: Back cannot bring
  // earlier results back. Without scripts (or if this fails) each search is a page of its own.
  // A second tap while a search is on its way is not a second search: both would carry the
  // form's one-time key, and the one answered second would be "shown only once", empty.
  var searching = false;
  function searchInPlace(event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("search") || !window.fetch || !window.DOMParser) {
      return;
    }
    event.preventDefault();
    if (searching) { return; }
    searching = true;
    form.setAttribute("aria-busy", "true");
    // Seen and heard at once: on a slow network a page that stays the same looks broken.
    var button = form.querySelector("button[data-busy]");
    var status = form.querySelector(".search-status");
    if (button) {
      button.textContent = button.getAttribute("data-busy");
      button.setAttribute("aria-disabled", "true");
    }
    if (status && button) { status.textContent = button.textContent; }
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error"
    }).then(function (response) {
      return response.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
      var main = document.querySelector("main");
      if (!fresh || !main) { throw new Error("not a page"); }
      main.replaceWith(fresh);
      searching = false;
      showEscHints();
      setUp();
      var heading = fresh.querySelector("h1");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      }
      window.scrollTo(0, 0);
    }).catch(function () {
      form.submit();
    });
  }
  document.addEventListener("submit", searchInPlace);

  function send(form) {
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  // What the page's main part needs, again after a search replaced it.
  function setUp() {
    var locate = document.getElementById("use-location");
    if (locate && navigator.geolocation) {
      locate.hidden = false;
      locate.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (position) {
          // Two decimals is about a kilometre: the precise position never leaves the phone.
          var form = locate.form;
          form.elements.lat.value = position.coords.latitude.toFixed(2);
          form.elements.lon.value = position.coords.longitude.toFixed(2);
          form.elements.zip.value = "";
          // Without a need chosen the search would only be refused, and the location lost
          // with the form: keep it here and say what is left to do.
          if (form.querySelector("input[name=need]:checked")) {
            send(form);
          } else {
            document.getElementById("location-ready").hidden = false;
          }
        }, function () {
          var note = document.getElementById("location-error");
          if (note) { note.hidden = false; }
        }, { enableHighAccuracy: false, maximumAge: 600000, timeout: 15000 });
      });
    }
    // A ZIP typed after a location was set means the ZIP: the location is let go.
    var zip = document.getElementById("zip");
    if (zip && zip.form && zip.form.elements.lat) {
      zip.addEventListener("input", function () {
        zip.form.elements.lat.value = "";
        zip.form.elements.lon.value = "";
        var ready = document.getElementById("location-ready");
        if (ready) { ready.hidden = true; }
      });
    }
    var print = document.getElementById("print");
    if (print) { print.addEventListener("click", function () { window.print(); }); }
  }
  setUp();
})();
