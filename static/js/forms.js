// Search forms marked data-drop-empty send only the fields that hold something, so that the
// address says what was asked ("?q=adversarial", not "?q=adversarial&year_min=&year_max=").
// Without JavaScript the form sends every field and the server redirects to the same clean
// address, so this only saves that round trip.
document.querySelectorAll("form[data-drop-empty]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (event.defaultPrevented) return;
    var params = new URLSearchParams();
    new FormData(form, event.submitter).forEach(function (value, name) {
      if (typeof value === "string" && value !== "") params.append(name, value);
    });
    event.preventDefault();
    var target = new URL(form.action);  // keeps the action's #fragment, e.g. #results
    target.search = params.toString();
    window.location.assign(target.toString());
  });
});

// Taxonomy pickers scroll their list to the node already chosen, so the current
// classification is in view when the form opens.
document.querySelectorAll(".node-picker__options").forEach(function (box) {
  var chosen = box.querySelector("input:checked");
  if (chosen && chosen.value) {
    var option = chosen.closest(".node-picker__option");
    box.scrollTop = option.offsetTop - box.clientHeight / 3;  // (the box is positioned)
  }
});
