/* fw_yaml_parse: types, lines, and every refusal with its place. */
#include "task.h"

#include "fundwatch/value.h"

static struct fw_value *parse(const char *text, struct fw_error *err)
{
    fw_error_clear(err);
    return fw_yaml_parse("t.yaml", text, strlen(text), err);
}

TEST_IMPL(yaml_scalars_and_lines)
{
    struct fw_error err;
    struct fw_value *v = parse("a: 1\n"
                               "b: -0.30\n"
                               "c: \"500103\"\n"
                               "d: 2024-06-30\n"
                               "e: true\n"
                               "f: ~\n"
                               "g:\n"
                               "h: 99999999999999999999\n"
                               "i: '12'\n"
                               "j: 1.2.3\n", &err);
    ASSERT(v != NULL);
    ASSERT_EQ_INT(v->type, FW_V_MAP);
    ASSERT_EQ_INT(v->n, 10);
    const struct fw_value *x = fw_value_get(v, "a");
    ASSERT_EQ_INT(x->type, FW_V_INT);
    ASSERT_EQ_INT(x->i, 1);
    ASSERT_EQ_INT(x->line, 1);
    x = fw_value_get(v, "b");
    ASSERT_EQ_INT(x->type, FW_V_NUM);
    ASSERT_EQ_STR(x->text, "-0.30");
    ASSERT_EQ_INT(fw_value_get(v, "c")->type, FW_V_STR);
    ASSERT_EQ_INT(fw_value_get(v, "d")->type, FW_V_STR);
    ASSERT_EQ_STR(fw_value_get(v, "d")->text, "2024-06-30");
    ASSERT_EQ_INT(fw_value_get(v, "d")->line, 4);
    ASSERT_EQ_INT(fw_value_get(v, "e")->type, FW_V_BOOL);
    ASSERT(fw_value_get(v, "e")->b);
    ASSERT_EQ_INT(fw_value_get(v, "f")->type, FW_V_NULL);
    ASSERT_EQ_INT(fw_value_get(v, "g")->type, FW_V_NULL);
    ASSERT_EQ_INT(fw_value_get(v, "h")->type, FW_V_NUM);
    ASSERT_EQ_INT(fw_value_get(v, "i")->type, FW_V_STR);
    ASSERT_EQ_INT(fw_value_get(v, "j")->type, FW_V_STR);
    ASSERT(fw_value_get(v, "zz") == NULL);
    char buf[64];
    ASSERT_EQ_STR(fw_value_place(fw_value_get(v, "j"), buf, sizeof buf),
                  "t.yaml:10");
    fw_value_free(v);
    return 0;
}

TEST_IMPL(yaml_nested_lists_and_maps)
{
    struct fw_error err;
    struct fw_value *v = parse("cases:\n"
                               "  - name: one\n"
                               "    records:\n"
                               "      - {region: \"500103\", budget: \"5.00\"}\n"
                               "      - {region: \"500104\"}\n"
                               "    expect: none\n"
                               "  - name: two\n"
                               "    expect: [{rule: r1}, {rule: r2}]\n", &err);
    ASSERT(v != NULL);
    const struct fw_value *cases = fw_value_get(v, "cases");
    ASSERT_EQ_INT(cases->type, FW_V_LIST);
    ASSERT_EQ_INT(cases->n, 2);
    const struct fw_value *recs = fw_value_get(cases->items[0], "records");
    ASSERT_EQ_INT(recs->n, 2);
    ASSERT_EQ_INT(recs->items[1]->line, 5);
    ASSERT_EQ_STR(fw_value_get(recs->items[0], "budget")->text, "5.00");
    const struct fw_value *ex = fw_value_get(cases->items[1], "expect");
    ASSERT_EQ_INT(ex->n, 2);
    ASSERT_EQ_STR(fw_value_get(ex->items[1], "rule")->text, "r2");
    ASSERT_EQ_STR(v->file, "t.yaml");
    ASSERT_EQ_STR(ex->items[1]->file, "t.yaml");
    fw_value_free(v);
    return 0;
}

TEST_IMPL(yaml_many_items_grow)
{
    struct fw_buf_like { char s[20000]; } *t = malloc(sizeof *t);
    size_t o = 0;
    for (int i = 0; i < 1000; i++)
        o += (size_t)snprintf(t->s + o, sizeof t->s - o, "- %d\n", i);
    struct fw_error err;
    struct fw_value *v = parse(t->s, &err);
    free(t);
    ASSERT(v != NULL);
    ASSERT_EQ_INT(v->n, 1000);
    ASSERT_EQ_INT(v->items[999]->i, 999);
    ASSERT_EQ_INT(v->items[999]->line, 1000);
    fw_value_free(v);
    return 0;
}

TEST_IMPL(yaml_empty_is_null)
{
    struct fw_error err;
    struct fw_value *v = parse("", &err);
    ASSERT(v != NULL);
    ASSERT_EQ_INT(v->type, FW_V_NULL);
    ASSERT_EQ_STR(v->file, "t.yaml");
    fw_value_free(v);
    v = parse("# only a comment\n", &err);
    ASSERT(v != NULL);
    ASSERT_EQ_INT(v->type, FW_V_NULL);
    fw_value_free(v);
    return 0;
}

static int refused(const char *text, const char *place, const char *words)
{
    struct fw_error err;
    struct fw_value *v = parse(text, &err);
    ASSERT(v == NULL);
    ASSERT_EQ_INT(err.code, FW_EINVAL);
    ASSERT_EQ_STR(err.place, place);
    ASSERT_CONTAINS(err.msg, words);
    return 0;
}

TEST_IMPL(yaml_refusals_name_the_place)
{
    ASSERT_EQ_INT(refused("a: 1\nb: 2\na: 3\n", "t.yaml:3:1",
                          "duplicate key \"a\" (first at line 1)"), 0);
    ASSERT_EQ_INT(refused("a: &x 1\nb: *x\n", "t.yaml:1:4", "anchors"), 0);
    ASSERT_EQ_INT(refused("a: !!str 1\n", "t.yaml:1:4", "tags"), 0);
    ASSERT_EQ_INT(refused("a: 1\n---\nb: 2\n", "t.yaml:2:1",
                          "more than one YAML document"), 0);
    ASSERT_EQ_INT(refused("a: [1, 2\nb: 3\n", "t.yaml:2:2",
                          "a comma or a closing ] is missing in the list"), 0);
    ASSERT_EQ_INT(refused("a:\n  - 1\n b: 2\n", "t.yaml:3:2",
                          "not indented like the other lines"), 0);
    ASSERT_EQ_INT(refused("a:\n\tb: 2\n", "t.yaml:2:1",
                          "a tab is used to indent this line"), 0);
    ASSERT_EQ_INT(refused("a:\n  b: 1\n   c: 2\n", "t.yaml:3:5",
                          "a colon (:) where none can be"), 0);
    ASSERT_EQ_INT(refused("? [1, 2]\n: x\n", "t.yaml:1:3",
                          "map key must be a plain value"), 0);
    char deep[1000] = "";
    for (int i = 0; i < 200; i++)
        strcat(deep, "[");
    ASSERT_EQ_INT(refused(deep, "t.yaml:1:129", "nested too deeply"), 0);
    return 0;
}
