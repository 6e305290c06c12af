// The filter box: show the rows whose text holds every word typed.
document.getElementById("filter").addEventListener("input", function (event) {
  var words = event.target.value.toLowerCase().split(/\s+/).filter(Boolean);
  var rows = document.querySelectorAll("tbody tr[data-search]");
  var shown = 0;
  rows.forEach(function (row) {
    var text = row.getAttribute("data-search");
    var hit = words.every(function (w) { return text.indexOf(w) !== -1; });
    row.hidden = !hit;
    shown += hit ? 1 : 0;
  });
  document.getElementById("count").textContent = shown + " of " + rows.length + " DAGs";
});
