// Copies the design system's JavaScript and images next to the built CSS.
const fs = require("fs");
const path = require("path");
const src = path.join(__dirname, "node_modules/govuk-frontend/dist/govuk");
const dst = path.join(__dirname, "../static/vendor/govuk-frontend");
fs.mkdirSync(path.join(dst, "assets/images"), { recursive: true });
fs.copyFileSync(path.join(src, "govuk-frontend.min.js"), path.join(dst, "govuk-frontend.min.js"));
for (const f of ["favicon.ico", "favicon.svg", "govuk-crest.svg"]) {
  fs.copyFileSync(path.join(src, "assets/images", f), path.join(dst, "assets/images", f));
}
