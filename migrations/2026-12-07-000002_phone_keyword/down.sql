ALTER TABLE phone DROP COLUMN keyword;
UPDATE phone SET label = 'Text HELP or INFO to 233733'
    WHERE kind = 'text' AND number = '233733' AND label = 'Text HELP to 233733';
