// Places the schedule's bars and "now" lines from their data-left / data-width percentages. Set through the CSSOM
// (element.style), which the Content-Security-Policy allows, where style="" attributes in the markup are refused.
// Without JavaScript the timeline stays hidden (pages.css) and the tables below give the same times.
(function () {
  function percent(value) {
    var number = parseFloat(value);
    return isFinite(number) ? Math.min(100, Math.max(0, number)) + "%" : null;
  }
  document.querySelectorAll("[data-timeline] [data-left]").forEach(function (el) {
    var left = percent(el.getAttribute("data-left")), width = percent(el.getAttribute("data-width"));
    if (left !== null) { el.style.left = left; }
    if (width !== null) { el.style.width = width; }
  });
  document.querySelectorAll("[data-timeline]").forEach(function (el) { el.setAttribute("data-placed", "true"); });
})();
