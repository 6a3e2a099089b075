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

// Leaflet for the deployment maps, served from here: no CDN at run time.
const leafletSrc = path.join(__dirname, "node_modules/leaflet");
const leafletDst = path.join(__dirname, "../static/vendor/leaflet");
fs.mkdirSync(path.join(leafletDst, "images"), { recursive: true });
for (const f of ["leaflet.js", "leaflet.css"]) {
  fs.copyFileSync(path.join(leafletSrc, "dist", f), path.join(leafletDst, f));
}
for (const f of fs.readdirSync(path.join(leafletSrc, "dist/images"))) {
  fs.copyFileSync(path.join(leafletSrc, "dist/images", f), path.join(leafletDst, "images", f));
}
fs.copyFileSync(path.join(leafletSrc, "LICENSE"), path.join(leafletDst, "LICENSE"));
