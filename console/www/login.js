/* login.js: the page that says how to get a login link; no session, no API call. A
 * token still in the address means the console refused it (403 with this page). */
'use strict';
RG.start(function () {
	if (RG.params.get('token') !== null)
		RG.$('refused').hidden = false;
}, {public: true});
