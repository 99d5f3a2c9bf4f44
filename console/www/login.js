/* login.js: the page that says how to get a login link; no session, no API call. The
 * console writes into the page itself what a token brings: the form whose button POSTs
 * it (#signin), or the refusal (#refused). Nothing to do here but the strings. */
'use strict';
RG.start(function () {
}, {public: true});
