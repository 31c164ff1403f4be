// "Copy" buttons on a record's page: <button data-copy="ID" hidden> copies the text of the
// element with that id. Without JavaScript the buttons stay hidden and the text can be
// selected as usual; a status line says whether the copy worked.
(function () {
  "use strict";

  function announce(button, message) {
    var status = document.getElementById(button.dataset.copyStatus || "");
    if (status) status.textContent = message;
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    document.body.removeChild(area);
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        return fallbackCopy(text);
      });
    }
    return fallbackCopy(text);
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.textContent.replace(/\s+\n/g, "\n").trim();
      copy(text).then(
        function () {
          announce(button, button.dataset.copied || "Copied.");
        },
        function () {
          announce(button, "Could not copy: select the text and copy it instead.");
        }
      );
    });
  });
})();
