// Small helpers for the Lateen Bookinfo product page.
(function () {
  "use strict";
  var field = document.getElementById("username");
  if (field) {
    field.focus();
  }
})();
