// Offers a button that copies the edge node's token, where the browser allows it.
(function () {
  var button = document.getElementById("copy-token"), input = document.getElementById("edge-token");
  var status = document.getElementById("copy-status");
  if (!navigator.clipboard || !button || !input) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(input.value).then(function () {
      status.textContent = "Token copied. Paste it into the node's configuration now.";
    }, function () {
      input.select();
      status.textContent = "Could not copy: the token is selected, copy it by hand.";
    });
  });
})();
