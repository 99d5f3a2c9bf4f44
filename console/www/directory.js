/* directory.js: the authorities of the network as the directory in force lists them,
 * with each one's link and certificate expiry; one authority's whole entry (address,
 * languages, kinds, what it asks of each kind it receives) on demand. */
'use strict';
(function () {
	var el = RG.el;

	function yn(v) {
		return v === null || v === undefined ? RG.t('directory.unspecified') : v ? RG.t('common.yes') : RG.t('common.no');
	}

	function showAuthority(id) {
		RG.get('/api/authority', {id: id}).then(function (a) {
			RG.$('authority-panel').hidden = false;
			RG.$('authority-title').textContent = a.id + ' — ' + a.name;
			var box = RG.clear(RG.$('authority'));
			box.appendChild(RG.dl([['col.country', a.country], ['col.address', el('span', {class: 'mono', text: a.address})],
				['col.languages', (a.languages || []).join(', ')],
				['col.kinds', (a.kinds || []).map(function (k) { return RG.tv('kind', k); }).join(', ')]]));
			var reqs = a.requirements || {};
			var kinds = Object.keys(reqs);
			if (!kinds.length)
				box.appendChild(el('p', {class: 'meta', text: RG.t('directory.no_requirements')}));
			kinds.forEach(function (k) {
				var r = reqs[k];
				box.appendChild(el('h3', {text: RG.t('directory.requirements_of', {kind: RG.tv('kind', k)})}));
				box.appendChild(RG.dl([['req.legal_bases', r.legal_bases],
					['req.languages', (r.languages || []).join(', ')],
					['req.certified_copies', yn(r.certified_copies)], ['req.translation', yn(r.translation)],
					['req.urgent_contact', r.urgent_contact],
					['req.url', r.url ? el('span', {class: 'mono', text: r.url}) : null]]));
			});
			RG.$('authority-panel').scrollIntoView();
		}, function (e) {
			RG.showError(e);
		});
	}

	RG.start(function () {
		return RG.get('/api/directory').then(function (d) {
			var list = d.authorities || [];
			RG.$('dir-meta').textContent = RG.t('directory.count', {n: list.length});
			var box = RG.clear(RG.$('directory'));
			box.appendChild(RG.table(['col.peer', 'col.name', 'col.country', 'col.link', 'col.languages',
				'col.kinds', 'col.certificate', 'col.requirements'], list.map(function (a) {
				return {attrs: {dataset: {peer: a.id}}, cells: [
					el('button', {type: 'button', class: 'link', text: a.id, onclick: function () {
						showAuthority(a.id);
					}}),
					a.name, a.country, RG.badge('link', a.link), (a.languages || []).join(', '),
					(a.kinds || []).map(function (k) { return RG.tv('kind', k); }).join(', '),
					RG.timeEl(a.certificate_not_after),
					(a.requirements_for || []).map(function (k) { return RG.tv('kind', k); }).join(', ')]};
			})));
			if (RG.params.get('id'))
				showAuthority(RG.params.get('id'));
			document.body.dataset.loaded = '1';
		});
	});
})();
