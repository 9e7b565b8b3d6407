// Haven pages work without this file. With it: quick exit also on Esc, and "use my location"
// coarsened in the browser before anything is sent. Nothing is stored in the browser.
(function () {
  "use strict";
  var exit = document.getElementById("quick-exit");
  function leave(event) {
    if (event) { event.preventDefault(); }
    // replace(), not assign(): this page leaves the history, so Back does not return to it.
    window.location.replace(exit.getAttribute("data-to") || exit.href);
  }
  if (exit) {
    exit.addEventListener("click", leave);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { leave(event); }
    });
  }
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
        form.submit();
      }, function () {
        var note = document.getElementById("location-error");
        if (note) { note.hidden = false; }
      }, { enableHighAccuracy: false, maximumAge: 600000, timeout: 15000 });
    });
  }
  var print = document.getElementById("print");
  if (print) { print.addEventListener("click", function () { window.print(); }); }
})();
