// Progressive enhancement: a form marked data-autosubmit reloads when a choice changes
// (without JavaScript its submit button does the same).
document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
  select.addEventListener("change", function () {
    if (select.name === "window") {
      var item = select.form.querySelector("select[name=item]");
      if (item) item.value = "";
    }
    select.form.submit();
  });
});
