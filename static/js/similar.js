// Progressive enhancement for "Propose a mitigation": list similar records while the name is
// typed (the form also checks on submit). A static file, so the Content-Security-Policy needs
// no inline script; the address comes from the element's data-similar-url.
(function () {
  var input = document.getElementById("id_name");
  var target = document.getElementById("similar-mitigations");
  if (!input || !target || !target.dataset.similarUrl || !window.fetch) return;
  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var url = target.dataset.similarUrl + "?name=" + encodeURIComponent(input.value);
      fetch(url, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) { target.innerHTML = html; });
    }, 350);
  });
})();
