-- The word a text line asks for first ("Text START to 88788"), so that pages can open the
-- message with it already written. Only a text line has one.
ALTER TABLE phone
    ADD COLUMN keyword text CHECK (length(keyword) BETWEEN 1 AND 20),
    ADD CONSTRAINT phone_keyword_on_text_lines CHECK (keyword IS NULL OR kind = 'text');

-- The bundled national lines that ask for a word (seed/hotlines.json), as seeded before.
UPDATE phone SET keyword = 'START'
    WHERE kind = 'text' AND number = '88788' AND label = 'Text START to 88788';
UPDATE phone SET keyword = 'HELP', label = 'Text HELP to 233733'
    WHERE kind = 'text' AND number = '233733' AND label = 'Text HELP or INFO to 233733';
