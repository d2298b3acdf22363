// The console's pure pieces: ranks from the API's tiers, the XLSX/CSV writers, URL state, input parsers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { rankText, tierRanks } from "../../mobile_forms/web/console/lib/stats.js";
import { csv, workbook, zip } from "../../mobile_forms/web/console/lib/xlsx.js";
import { apiPath, hashFor, parseHash } from "../../mobile_forms/web/console/lib/core.js";
import { parseDayparts } from "../../mobile_forms/web/console/pages/campaigns.js";
import { openingHoursText, parseOpeningHours } from "../../mobile_forms/web/console/pages/setup.js";
import { sheetAndRow } from "../../mobile_forms/web/console/pages/forms.js";
import { cellState, cellText } from "../../mobile_forms/web/console/pages/wave.js";

test("ranks are the API's tiers: a tier held by two groups of the response is shared; no tier, no rank", () => {
  const ranks = tierRanks([{ tier: 1 }, { tier: 1 }, { tier: 2 }, { tier: null }, { tier: 3 }]);
  assert.deepEqual(ranks.map(rankText), ["=1", "=1", "2", "–", "3"]);
  assert.deepEqual(ranks[2], { rank: 2, tied: false });
  assert.deepEqual(tierRanks([{ tier: 1 }]).map(rankText), ["1"]);
  assert.deepEqual(tierRanks([]), []);
  // No rule of the browser's own: intervals that do not overlap but share a tier stay tied, and overlapping
  // ones the API put in different tiers stay apart.
  const figure = (value, low, high) => ({ n: 9, value, ci_low: low, ci_high: high, enough_data: true });
  assert.deepEqual(tierRanks([{ tier: 1, figure: figure(90, 88, 92) }, { tier: 1, figure: figure(50, 48, 52) },
    { tier: 2, figure: figure(49, 40, 60) }]).map(rankText), ["=1", "=1", "2"]);
});

test("the ZIP holds each file stored with its CRC-32 and a central directory", () => {
  const data = new TextEncoder().encode("hello");
  const bytes = zip([["a.txt", data]]);
  const view = new DataView(bytes.buffer);
  assert.equal(view.getUint32(0, true), 0x04034b50);
  assert.equal(view.getUint32(14, true), 0x3610a686); // CRC-32 of "hello"
  assert.equal(view.getUint32(bytes.length - 22, true), 0x06054b50);
  assert.equal(view.getUint16(bytes.length - 22 + 10, true), 1);
});

test("a workbook has the parts a spreadsheet needs and keeps numbers as numbers, text as text", () => {
  const text = new TextDecoder().decode(workbook([{ name: "Scores/1", rows: [["a<b", 1.5], [null, "x"]] }]));
  assert.match(text, /\[Content_Types\]\.xml/);
  assert.match(text, /<sheet name="Scores 1"/);
  assert.match(text, /<c r="A1" t="inlineStr"><is><t xml:space="preserve">a&lt;b<\/t><\/is><\/c><c r="B1"><v>1.5<\/v><\/c>/);
  assert.match(text, /<row r="2"><c r="B2" t="inlineStr">/);
});

test("CSV quotes what needs quoting and never lets a cell run as a formula", () => {
  assert.equal(csv([["a,b", 'say "hi"', 3, "=1+1", "-2", -2]]), '\ufeff"a,b","say ""hi""",3,\'=1+1,\'-2,-2\r\n');
});

test("routes keep their filters in the URL, and empty filters are left out", () => {
  assert.deepEqual(parseHash("#/reports?status=submitted&offset=25"), { path: "/reports", query: { status: "submitted", offset: "25" } });
  assert.deepEqual(parseHash(""), { path: "/", query: {} });
  assert.equal(hashFor("/dashboard", { region: "Bohemia", channel: "", brand: null }), "#/dashboard?region=Bohemia");
  assert.equal(apiPath("/tasks", { wave_id: "w", status: undefined, limit: 25 }), "/tasks?wave_id=w&limit=25");
});

test("dayparts and opening hours are read from what a coordinator types, or refused naming the part", () => {
  assert.deepEqual(parseDayparts("day 8-17, night 21-8"),
    [{ key: "day", start_hour: 8, end_hour: 17 }, { key: "night", start_hour: 21, end_hour: 8 }]);
  assert.throws(() => parseDayparts("day 8 to 17"), /day 8 to 17/);
  const hours = parseOpeningHours("mon 09:00-17:00, sat 10:00-24:00");
  assert.deepEqual(hours, [{ day: "mon", opens: "09:00", closes: "17:00" }, { day: "sat", opens: "10:00", closes: "24:00" }]);
  assert.equal(openingHoursText(hours), "mon 09:00-17:00, sat 10:00-24:00");
  assert.throws(() => parseOpeningHours("monday 9-5"), /monday 9-5/);
});

test("XLSForm problems are split into sheet and row; coverage cells name their state", () => {
  assert.deepEqual(sheetAndRow("survey!row 5"), ["survey", "5"]);
  assert.deepEqual(sheetAndRow("file"), ["file", ""]);
  assert.equal(cellState({ planned: 2, done: 1, due: 1, missing: 0 }), "due");
  assert.equal(cellState({ planned: 2, done: 1, due: 0, missing: 1 }), "missing");
  assert.equal(cellState({ planned: 1, done: 1, due: 0, missing: 0 }), "done");
  assert.equal(cellState(undefined), "none");
  // Nobody answered (and no retry due): worse than due, not as bad as missing.
  assert.equal(cellState({ planned: 3, done: 1, due: 1, unanswered: 1, missing: 0 }), "unanswered");
  assert.equal(cellState({ planned: 2, done: 0, due: 0, unanswered: 1, missing: 1 }), "missing");
  assert.equal(cellText({ planned: 3, done: 1, due: 0, unanswered: 2, missing: 0 }), "✓1 ⊘2");
});

test("the charts draw estimates on their intervals and write out groups without enough data", async () => {
  const { intervalRows, survivalSeries, trendMarks } = await import("../../mobile_forms/web/console/lib/charts.js");
  const score = (n, mean, low, high, enough = true) => ({ n, mean, ci_low: low, ci_high: high, enough_data: enough });
  const { drawn, written } = intervalRows([
    { label: "Acme", relation: "own", score: score(7, 70, 60, 80) },
    { label: "Brno", relation: "own", score: score(1, null, null, null, false) },
    { label: "Rival", relation: "competitor", score: score(3, 40, null, null) },
  ]);
  assert.deepEqual(drawn.map((d) => [d.label, d.at, d.mean, d.low, d.high]), [["Acme", 0, 70, 60, 80], ["Rival", 2, 40, 40, 40]]);
  assert.deepEqual(written.map((d) => [d.label, d.at, d.n]), [["Brno", 1, 1]]);
  // Kaplan–Meier: own first and solid, competitors dashed; a group without a curve is not drawn.
  const curve = [{ time: 0, survival: 1 }, { time: 90, survival: 0.5 }];
  const km = survivalSeries([{ label: "Competitor", relation: "competitor", curve }, { label: "Own", relation: "own", curve: [{ time: 0, survival: 1 }] },
    { label: "None", relation: "competitor", curve: [] }]);
  assert.deepEqual(km.drawn.map((s) => [s.label, s.dash]), [["Own", null], ["Competitor", "7 4"]]);
  assert.equal(km.maxTime, 90);
  assert.equal(survivalSeries([]).maxTime, 1);
  // A trend: each period's estimate on its interval, its target, or "not enough data" in words.
  const figure = (n, value, enough = true) => ({ n, value, ci_low: value && value - 5, ci_high: value && value + 5, enough_data: enough });
  const trend = trendMarks([
    { label: "W1", figure: figure(4, 70), target: { target: 60 } },
    { label: "W2", figure: figure(1, null, false), target: { target: 60 } },
    { label: "W3", figure: figure(5, 55), target: null },
  ]);
  assert.deepEqual(trend.drawn.map((d) => [d.label, d.at, d.value, d.low, d.high]), [["W1", 0, 70, 65, 75], ["W3", 2, 55, 50, 60]]);
  assert.deepEqual(trend.written.map((d) => [d.label, d.n]), [["W2", 1]]);
  assert.deepEqual(trend.targets.map((d) => [d.label, d.target]), [["W1", 60], ["W2", 60]]);
});

test("the dashboard's brands and locations come from comparison groups, own first and best first", async () => {
  const { apiFilters, joinScores } = await import("../../mobile_forms/web/console/pages/dashboard.js");
  const figure = (n, value, low, high, enough = true) => ({ n, value, ci_low: low, ci_high: high, enough_data: enough });
  const brandGroups = [
    { keys: [{ value: "r", label: "Rival" }, { value: "competitor" }], figure: figure(3, 40, 30, 50), tier: 2 },
    { keys: [{ value: "a", label: "Acme" }, { value: "own" }], figure: figure(7, 70, 60, 80), tier: 1 },
  ];
  const locationGroups = [
    { keys: [{ value: "l1", label: "Rival hotline" }], figure: figure(3, 40, 30, 50), tier: 1 },
    { keys: [{ value: "l2", label: "Acme Brno" }], figure: figure(1, null, null, null, false), tier: null },
    { keys: [{ value: "l3", label: "Acme Prague" }], figure: figure(6, 75, 65, 85), tier: 1 },
  ];
  const places = new Map([["l1", { brand_id: "r", region: "East" }], ["l2", { brand_id: "a", region: "Moravia" }],
    ["l3", { brand_id: "a", region: "Bohemia" }]]);
  const { brands, locations } = joinScores(brandGroups, locationGroups, places);
  assert.deepEqual(brands.map((b) => [b.brand_name, b.relation, b.score.mean]), [["Acme", "own", 70], ["Rival", "competitor", 40]]);
  assert.deepEqual(locations.map((l) => [l.location_name, l.brand_name, l.relation, l.region]), [
    ["Acme Prague", "Acme", "own", "Bohemia"], ["Acme Brno", "Acme", "own", "Moravia"],
    ["Rival hotline", "Rival", "competitor", "East"]]);
  assert.deepEqual(locations[1].score, { n: 1, mean: null, ci_low: null, ci_high: null, enough_data: false });
  // Each row keeps its group's tier as its rank, after the rows are reordered.
  assert.deepEqual(brands.map((b) => rankText(b.rank)), ["1", "2"]);
  assert.deepEqual(locations.map((l) => rankText(l.rank)), ["=1", "–", "=1"]);
  // A wave of another campaign (left in the URL after the campaign changed) is not sent.
  const params = apiFilters({ campaign_id: "c", wave_from: "w1", wave_to: "old", date_from: "2026-01-01", brand: "a" }, "o",
    [{ id: "w1" }]);
  assert.deepEqual([params.organisation_id, params.wave_from, params.wave_to, params.date_from, params.brand],
    ["o", "w1", "", "2026-01-01", undefined]);
});

test("without a campaign, every campaign's waves are offered by start date, each named with its campaign", async () => {
  const { apiFilters, organisationWaves } = await import("../../mobile_forms/web/console/pages/dashboard.js");
  const waves = organisationWaves([{ id: "c1", name: "Hotline" }, { id: "c2", name: "Branches" }], [
    [{ id: "h2", name: "May", starts_on: "2026-05-01" }, { id: "h1", name: "March", starts_on: "2026-03-01" }],
    [{ id: "b1", name: "Spring", starts_on: "2026-03-01" }],
  ]);
  assert.deepEqual(waves.map((w) => [w.id, w.campaign_name]), [["b1", "Branches"], ["h1", "Hotline"], ["h2", "Hotline"]]);
  assert.deepEqual(organisationWaves([{ id: "c", name: "Empty" }], [[]]), []);
  // A range across campaigns is sent as it is (the API takes the organisation's waves by start date).
  const params = apiFilters({ wave_from: "b1", wave_to: "h2" }, "o", waves);
  assert.deepEqual([params.campaign_id, params.wave_from, params.wave_to], [undefined, "b1", "h2"]);
});

test("a repeat is one answer row listing its instances, each with its questions' answers", async () => {
  const { answerText, questions } = await import("../../mobile_forms/web/console/lib/forms.js");
  const definition = { sections: [{ type: "section", key: "s", items: [
    { type: "text", key: "shop", label: { en: "Shop" } },
    { type: "section", key: "member", repeat: true, label: { en: "Member" }, items: [
      { type: "text", key: "name", label: { en: "Name" } },
      { type: "yes_no", key: "votes", label: { en: "Votes" } },
      { type: "calculate", key: "c", calculation: { op: "lit", args: [1] } },
    ] },
  ] }] };
  const asked = questions(definition);
  assert.deepEqual(asked.map((a) => [a.question.key, a.question.type]), [["shop", "text"], ["member", "repeat"]]);
  const t = (key) => ({ "answer.yes": "Yes", "answer.no": "No" })[key] || key;
  const text = answerText(asked[1].question, [{ name: "Ana", votes: true }, { name: "Bo" }], t);
  assert.equal(text, "1. Name: Ana; Votes: Yes | 2. Name: Bo");
});

test("a heatmap cell's shade runs from the grid's best (0) to its worst (4), whichever way the measure points", async () => {
  const { heatLevel } = await import("../../mobile_forms/web/console/pages/analysis.js");
  // Time to answer: longer is worse, so darker.
  assert.deepEqual([10, 35, 60].map((v) => heatLevel(v, 10, 60, false)), [0, 2, 4]);
  // Service level: higher is better, so the highest share is the lightest.
  assert.deepEqual([0.2, 0.5, 0.8].map((v) => heatLevel(v, 0.2, 0.8, true)), [4, 2, 0]);
  assert.equal(heatLevel(5, 5, 5, false), 2); // one value: the middle shade, neither best nor worst
});

test("the heatmap's cells carry their shade among the grid's values, too few contacts unshaded", async () => {
  const { ctx } = await import("../../mobile_forms/web/console/lib/core.js");
  const { heatCells } = await import("../../mobile_forms/web/console/pages/analysis.js");
  ctx.i18n = { lang: "en", t: (key) => ({ "dash.not_enough": "not enough data" })[key] || key };
  const group = (day, hour, value, n, enough = true) => ({ keys: [{ value: String(day) }, { value: String(hour) }],
    figure: { value, n, enough_data: enough } });
  const cells = heatCells({ kind: "duration", unit: "s", higher_is_better: false, groups: [
    group(1, 9, 10, 4), group(1, 10, 35, 3), group(2, 9, 60, 5), group(3, 9, null, 1, false)] });
  assert.deepEqual(cells.map((c) => [c.weekday, c.hour, c.level, c.text]),
    [[1, 9, 0, "10.0"], [1, 10, 2, "35.0"], [2, 9, 4, "60.0"], [3, 9, null, "n<"]]);
  assert.equal(cells[3].title, "not enough data (n=1)");
  ctx.i18n = null;
});
