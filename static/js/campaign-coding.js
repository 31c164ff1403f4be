// The coding and adjudication pages, keyboard first: 1-3 pick a suggestion, "/" searches the
// taxonomy, Enter submits, "s" skips. The pages work without this file (plain form controls).
(function () {
  "use strict";
  var form = document.querySelector("[data-coding-form]");
  if (!form) return;
  var search = form.querySelector("[data-tree-search]");
  var nodes = Array.prototype.slice.call(form.querySelectorAll("[data-tree] > li"));
  var submit = form.querySelector("[data-submit]");
  var skip = form.querySelector("[data-skip]");

  function typing(target) {
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return target.isContentEditable;
    return ["radio", "checkbox", "submit", "button"].indexOf(target.type) === -1;
  }

  function pick(input) {
    if (!input) return;
    if (input.type === "checkbox") input.checked = !input.checked;
    else input.checked = true;
    input.focus();
  }

  function filter() {
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    nodes.forEach(function (node) {
      var text = node.getAttribute("data-text") || "";
      node.hidden = !words.every(function (word) { return text.indexOf(word) !== -1; });
    });
  }

  if (search) {
    search.addEventListener("input", filter);
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        // Enter in the search picks the first node shown, rather than submitting.
        event.preventDefault();
        var first = nodes.filter(function (node) { return !node.hidden; })[0];
        if (first) pick(first.querySelector("input"));
      } else if (event.key === "Escape") {
        search.value = "";
        filter();
        search.blur();
      }
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "/" && search) {
      event.preventDefault();
      search.focus();
      search.select();
    } else if (/^[1-9]$/.test(event.key)) {
      var label = form.querySelector('[data-suggestion="' + event.key + '"]');
      if (label) {
        event.preventDefault();
        pick(document.getElementById(label.getAttribute("for")));
      }
    } else if (event.key === "Enter" && submit) {
      event.preventDefault();
      form.requestSubmit(submit);
    } else if ((event.key === "s" || event.key === "S") && skip) {
      event.preventDefault();
      form.requestSubmit(skip);
    }
  });
})();
