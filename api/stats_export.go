package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/xuri/excelize/v2"

	"qianliyan/task"
)

// A statsTable is one table of an export: a sheet of the XLSX file, a
// section of the CSV file. Each header is "<中文> <code>", the code being
// the figure's JSON name, so people read it and programs find it.
type statsTable struct {
	name   string // the sheet's name
	header []string
	rows   [][]any // string, int, int64 or float64 (a rate, 0 to 1)
}

// figureColumns are the columns of task.Figures in the exports, in order.
var figureColumns = []struct{ zh, code string }{
	{"受理", "received"}, {"交办", "dispatched"}, {"办结", "closed"}, {"按时办结", "closed_on_time"},
	{"驳回", "rejected"}, {"在办", "open"}, {"评价", "rated"}, {"满意", "satisfied"},
	{"交办率", "dispatch_rate"}, {"办结率", "closing_rate"}, {"按时办结率", "on_time_rate"}, {"回访满意度", "satisfaction_rate"},
}

func figureValues(f task.Figures) []any {
	return []any{f.Received, f.Dispatched, f.Closed, f.ClosedOnTime, f.Rejected, f.Open, f.Rated, f.Satisfied,
		f.DispatchRate, f.ClosingRate, f.OnTimeRate, f.SatisfactionRate}
}

// sourceTitles name the kinds of tasks that are reports, not incidents.
var sourceTitles = map[string]string{task.FromResident: "居民上报", task.FromPatrol: "巡查上报", task.FromStaff: "人工录入"}

// statsTables lays st out as the tables of an export: the same figures as
// GET /api/stats and the page.
func statsTables(st StatsResponse) []statsTable {
	defs := map[string]task.Definition{}
	for _, d := range st.Definitions {
		defs[d.Figure] = d
	}
	summary := statsTable{name: "汇总 Summary", header: []string{"项目 item", "数值 value", "定义 definition_zh", "definition_en"}}
	grid := st.Query.Grid
	if grid == "" {
		grid = "全部 all"
	}
	for _, kv := range [][2]string{{"范围 range", st.Range.Name}, {"起 from", st.Range.From}, {"止 to", st.Range.To},
		{"时区 time_zone", st.Range.TimeZone}, {"网格 grid", grid}} {
		summary.rows = append(summary.rows, []any{kv[0], kv[1], "", ""})
	}
	for i, v := range figureValues(st.Figures) {
		col := figureColumns[i]
		d := defs[col.code]
		summary.rows = append(summary.rows, []any{col.zh + " " + col.code, v, d.Zh, d.En})
	}
	groups := func(name, key string, gs []task.Group, title func(task.Group) string) statsTable {
		t := statsTable{name: name, header: []string{key, "名称 name"}}
		for _, c := range figureColumns {
			t.header = append(t.header, c.zh+" "+c.code)
		}
		for _, g := range gs {
			t.rows = append(t.rows, append([]any{g.Key, title(g)}, figureValues(g.Figures)...))
		}
		return t
	}
	kindTitle := func(g task.Group) string {
		if n := task.KindTitles[g.Key]; n != "" {
			return n
		}
		return sourceTitles[g.Key]
	}
	stages := statsTable{name: "环节 Stages", header: []string{"环节 stage", "工单数 count", "中位数(秒) median_s", "P90(秒) p90_s"}}
	for _, s := range st.Stages {
		stages.rows = append(stages.rows, []any{s.Stage, s.Count, float64(s.MedianMS) / 1000, float64(s.P90MS) / 1000})
	}
	daily := statsTable{name: "每日 Daily", header: []string{"日期 date"}}
	for _, c := range figureColumns {
		daily.header = append(daily.header, c.zh+" "+c.code)
	}
	for _, d := range st.Daily {
		daily.rows = append(daily.rows, append([]any{d.Date}, figureValues(d.Figures)...))
	}
	return []statsTable{
		summary,
		groups("网格 Grids", "网格 grid", st.ByGrid, func(g task.Group) string { return g.Key }),
		groups("网格员 Workers", "网格员 worker", st.ByWorker, func(g task.Group) string { return g.Name }),
		groups("类型 Kinds", "类型 kind", st.ByKind, kindTitle),
		stages,
		daily,
	}
}

// cellText writes a value of a table for CSV: a rate with all its digits,
// so a program reads back the very number of the JSON.
func cellText(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// writeCSV writes the tables as one CSV file in UTF-8 with a byte order
// mark (Excel then reads the Chinese right): each table is a line "# name",
// its header and its rows, then an empty line.
func writeCSV(tables []statsTable) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	w := csv.NewWriter(&buf)
	for i, t := range tables {
		if i > 0 {
			buf.WriteString("\r\n") // an empty line between tables; w is flushed
		}
		_ = w.Write([]string{"# " + t.name})
		_ = w.Write(t.header)
		for _, r := range t.rows {
			line := make([]string, len(r))
			for j, v := range r {
				line[j] = cellText(v)
			}
			_ = w.Write(line)
		}
		w.Flush()
	}
	return buf.Bytes(), w.Error()
}

// writeXLSX writes the tables as the sheets of one workbook, the rates as
// numbers shown as percentages.
func writeXLSX(tables []statsTable) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	pctFmt := "0.0%"
	pct, err := f.NewStyle(&excelize.Style{CustomNumFmt: &pctFmt})
	if err != nil {
		return nil, err
	}
	for i, t := range tables {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", t.name); err != nil {
				return nil, err
			}
		} else if _, err := f.NewSheet(t.name); err != nil {
			return nil, err
		}
		header := make([]any, len(t.header))
		for j, h := range t.header {
			header[j] = h
		}
		if err := f.SetSheetRow(t.name, "A1", &header); err != nil {
			return nil, err
		}
		last, _ := excelize.CoordinatesToCellName(len(t.header), 1)
		if err := f.SetCellStyle(t.name, "A1", last, bold); err != nil {
			return nil, err
		}
		for r, row := range t.rows {
			cell, _ := excelize.CoordinatesToCellName(1, r+2)
			if err := f.SetSheetRow(t.name, cell, &row); err != nil {
				return nil, err
			}
			for c, v := range row {
				// the rates: only they are fractions in a table of counts
				if x, ok := v.(float64); ok && t.name != "环节 Stages" {
					at, _ := excelize.CoordinatesToCellName(c+1, r+2)
					if err := f.SetCellFloat(t.name, at, x, -1, 64); err != nil {
						return nil, err
					}
					if err := f.SetCellStyle(t.name, at, at, pct); err != nil {
						return nil, err
					}
				}
			}
		}
		if err := f.SetColWidth(t.name, "A", "A", 18); err != nil {
			return nil, err
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// statsExport answers GET /api/stats/export?format=csv|xlsx with the query
// of GET /api/stats: the same figures as a file to download.
func (s *Server) statsExport(c *gin.Context) error {
	format := c.Query("format")
	if format != "csv" && format != "xlsx" {
		return Errorf(http.StatusBadRequest, "format %q is not one of csv, xlsx", format)
	}
	st, err := s.statsOf(c)
	if err != nil {
		return err
	}
	tables := statsTables(st)
	var body []byte
	mime := "text/csv; charset=utf-8"
	if format == "csv" {
		body, err = writeCSV(tables)
	} else {
		body, err = writeXLSX(tables)
		mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	if err != nil {
		return fmt.Errorf("export the figures as %s: %w", format, err)
	}
	name := "qly-stats-" + st.Range.From + "_" + st.Range.To
	if st.Query.Grid != "" {
		name += "-" + st.Query.Grid
	}
	c.Header("Content-Disposition", fmt.Sprintf("attachment; filename=%q", safeFileName(name)+"."+format))
	c.Data(http.StatusOK, mime, body)
	return nil
}

// safeFileName keeps the letters, digits, '-' and '_' of name (a grid may be
// anything), so the header stays one plain ASCII word.
func safeFileName(name string) string {
	out := []byte{}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' {
			out = append(out, ch)
		}
	}
	return string(out)
}
