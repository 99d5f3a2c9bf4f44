/* stats.js: the statistics of a period as the store computes them (GET /api/stats),
 * each table shown whole and, where it has a count, as an SVG bar chart drawn here: one
 * bar per row, labelled by the row's names, long by its first count. */
'use strict';
(function () {
	var el = RG.el;
	/* the column whose value each table's chart shows */
	var MEASURE = {cases_opened: 'cases', case_times: 'median_days', reasons: 'documents',
		offences: 'cases', messages: 'messages', delivery: 'median_seconds', rejections: 'messages',
		overdue: 'cases', answered_on_time: 'percent'};
	/* cells that are names of things with a label in the catalog */
	var LABELS = {direction: 'dir', kind: 'kind', status: 'status', state: 'state', clock: 'clock',
		milestone: 'status', reason: 'reason'};

	function cellText(col, v) {
		if (v === null || v === undefined)
			return '—';
		if (LABELS[col] && typeof v === 'string')
			return RG.tv(LABELS[col], v);
		if (typeof v === 'number')
			return RG.num(v);
		return String(v);
	}

	function table(t) {
		var sec = el('section', {class: 'panel stat', id: 'stat-' + t.name, dataset: {table: t.name}});
		sec.appendChild(el('h2', {text: RG.has('stat.' + t.name) ? RG.t('stat.' + t.name) : t.title}));
		if (!t.rows.length) {
			sec.appendChild(RG.empty('stats.no_rows'));
			return sec;
		}
		var m = t.columns.indexOf(MEASURE[t.name]);
		if (m < 0)
			t.columns.forEach(function (c, i) {
				if (m < 0 && t.rows.length && typeof t.rows[0][i] === 'number')
					m = i;
			});
		if (m >= 0) {
			var rows = t.rows.map(function (r) {
				var names = [];
				r.forEach(function (v, i) {
					if (typeof v === 'string')
						names.push(cellText(t.columns[i], v));
				});
				return {label: names.join(' · '), value: Number(r[m]) || 0};
			}).slice(0, 40);
			sec.appendChild(RG.barChart(rows, {title: RG.t('stats.chart_of', {what: RG.has('col.' + t.columns[m])
				? RG.t('col.' + t.columns[m]) : t.columns[m]})}));
		}
		sec.appendChild(RG.table(t.columns.map(function (c) { return RG.has('col.' + c) ? 'col.' + c : c; }),
			t.rows.map(function (r) {
				return r.map(function (v, i) { return cellText(t.columns[i], v); });
			})));
		return sec;
	}

	function dayStart(d) {
		return d ? d + 'T00:00:00Z' : '';
	}
	function dayEnd(d) {
		return d ? d + 'T23:59:59Z' : '';
	}

	function load() {
		var q = {since: dayStart(RG.$('f-since').value), until: dayEnd(RG.$('f-until').value),
			peer: RG.$('f-peer').value};
		return RG.get('/api/stats', q).then(function (s) {
			RG.hideError();
			RG.$('generated').textContent = RG.t('stats.generated', {at: RG.time(s.generated)});
			var box = RG.clear(RG.$('tables'));
			(s.tables || []).forEach(function (t) { box.appendChild(table(t)); });
			document.body.dataset.loaded = '1';
		}, function (e) {
			RG.showError(e);
		});
	}

	RG.start(function () {
		RG.$('filters').addEventListener('submit', function (ev) {
			ev.preventDefault();
			load();
		});
		return RG.get('/api/peers').then(function (peers) {
			peers.forEach(function (p) {
				RG.$('f-peer').appendChild(el('option', {value: p.id, text: p.id}));
			});
			return load();
		});
	});
})();
