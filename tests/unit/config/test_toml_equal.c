/* TOML documents compared by what they say: key order, comments,
 * whitespace, quoting and table syntax do not matter; values, types, array
 * order and every key do. */
#include <string.h>

#include "../tap.h"
#include "config/toml_equal.h"

static int same(const char *a, const char *b)
{
    return toml_text_equal(a, strlen(a), b, strlen(b));
}

int main(void)
{
    TAP_OK(same("a = 1\nb = 'x'\n", "# c\nb = \"x\"   # d\n\n a=1\n"),
           "order, comments, whitespace, quoting");
    TAP_OK(same("[t]\nx = 1\n[t.u]\ny = 2\n", "t = { x = 1, u = { y = 2 } }\n"),
           "table headers and inline tables");
    TAP_OK(same("[[r]]\nk = 1\n[[r]]\nk = 2\n", "r = [{ k = 1 }, { k = 2 }]\n"),
           "array of tables and inline array");
    TAP_OK(same("d = 1979-05-27T07:32:00Z\n", "d = 1979-05-27T07:32:00+00:00\n"),
           "the same instant written two ways");
    TAP_OK(same("f = 0x10\n", "f = 16\n"), "integer bases");
    TAP_OK(!same("a = 1\n", "a = 2\n"), "another value");
    TAP_OK(!same("a = 1\n", "a = 1.0\n"), "integer vs float");
    TAP_OK(!same("a = '1'\n", "a = 1\n"), "string vs integer");
    TAP_OK(!same("a = [1, 2]\n", "a = [2, 1]\n"), "array order");
    TAP_OK(!same("a = 1\n", "a = 1\nb = 2\n"), "an added key");
    TAP_OK(!same("a = 1\nb = 2\n", "a = 1\nc = 2\n"), "a renamed key");
    TAP_OK(!same("[t]\nx = 1\n", "[t]\nx = 1\n[u]\n"), "an added empty table");
    TAP_OK(!same("t = { x = { y = 1 } }\n", "t = { x = { y = 2 } }\n"), "a nested value");
    TAP_OK(!same("a = 1\n", "a = \n"), "a text that does not parse");
    return tap_done();
}
