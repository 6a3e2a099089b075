// Starts every GOV.UK Frontend component on the page (loaded as a module from base.html).
import { initAll } from "../vendor/govuk-frontend/govuk-frontend.min.js";

initAll();
