/* `synack trace --html` (and `synack demo --html`): one self-contained page, the styles
 * inline, the graphs as inline SVG, no script and nothing fetched: the connection list, the
 * annotated ladder, both ends' states and the graphs. */
#include <stdlib.h>
#include <string.h>

#include "trace.h"

void trace_html_escape(const char *text, size_t len, FILE *out)
{
    for (size_t i = 0; i < len; i++) {
        switch (text[i]) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            fputc(text[i], out);
        }
    }
}

void trace_html_begin(const char *title, FILE *out)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", out);
    trace_html_escape(title, strlen(title), out);
    fputs("</title>\n<style>\n"
          "body { font-family: sans-serif; margin: 1.5em; color: #222; }\n"
          "pre { font-size: 12px; background: #f6f6f6; padding: 0.6em; overflow-x: auto; }\n"
          "svg { max-width: 100%; height: auto; border: 1px solid #ddd; }\n"
          "</style>\n</head>\n<body>\n<h1>",
          out);
    trace_html_escape(title, strlen(title), out);
    fputs("</h1>\n", out);
}

void trace_html_pre(const char *id, const char *heading, const char *text, size_t len, FILE *out)
{
    fprintf(out, "<section id=\"%s\">\n<h2>", id);
    trace_html_escape(heading, strlen(heading), out);
    fputs("</h2>\n<pre>", out);
    trace_html_escape(text, len, out);
    fputs("</pre>\n</section>\n", out);
}

int trace_html_end(FILE *out)
{
    fputs("</body>\n</html>\n", out);
    return ferror(out) ? SYNACK_ERR_IO : 0;
}

/* The text a printer writes, in memory: *buf (free it) of *len bytes, or NULL. */
struct html_text {
    char *buf;
    size_t len;
    FILE *f;
};

static FILE *html_text_open(struct html_text *x)
{
    *x = (struct html_text){0};
    x->f = open_memstream(&x->buf, &x->len);
    return x->f;
}

/* Closes the text and writes it as a section; false when memory ran out. */
static bool html_text_section(struct html_text *x, const char *id, const char *heading, FILE *out)
{
    if (x->f == NULL) return false;
    bool ok = fclose(x->f) == 0 && x->buf != NULL;
    if (ok) trace_html_pre(id, heading, x->buf, x->len, out);
    free(x->buf);
    return ok;
}

/* The list, the ladder and the states as sections; SYNACK_ERR_NOMEM when memory ran out. */
static int html_texts(const struct trace *t, size_t conn, const char *name, FILE *out)
{
    struct html_text x;
    if (html_text_open(&x)) trace_print_list(t, name, x.f);
    if (!html_text_section(&x, "connections", "connections", out)) return SYNACK_ERR_NOMEM;
    char heading[64];
    snprintf(heading, sizeof(heading), "connection %zu: the ladder", conn + 1);
    int rc = 0;
    if (html_text_open(&x)) rc = trace_print_ladder(t, conn, x.f);
    if (!html_text_section(&x, "ladder", heading, out)) return SYNACK_ERR_NOMEM;
    if (rc != 0) return rc;
    struct trace_analysis a;
    if ((rc = trace_analyze(t, conn, &a)) != 0) return rc;
    if (html_text_open(&x)) trace_print_states(&t->conns[conn], &a, x.f);
    trace_analysis_free(&a);
    if (!html_text_section(&x, "states", "the states of both ends (inferred)", out))
        return SYNACK_ERR_NOMEM;
    return 0;
}

int trace_write_html(const struct trace *t, size_t conn, const char *name, FILE *out)
{
    if (conn >= t->nconns) return SYNACK_ERR_INVAL;
    char title[512];
    snprintf(title, sizeof(title), "synack trace %s: connection %zu", name, conn + 1);
    trace_html_begin(title, out);
    int rc = html_texts(t, conn, name, out);
    if (rc != 0) return rc;
    fputs("<section id=\"graphs\">\n<h2>graphs</h2>\n", out);
    if ((rc = trace_write_graphs(t, conn, NULL, 0, false, out)) != 0) return rc;
    fputs("</section>\n", out);
    return trace_html_end(out);
}
