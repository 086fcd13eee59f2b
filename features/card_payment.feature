@card
Feature: Card credentials
  Once the user approves a card spend request, the agent retrieves a one-time
  card to type into the merchant's checkout; never before, never when denied.

  Background:
    Given a logged-in user with a default card

  @PAY-01
  Scenario: An approved card request gives the full card
    Given an approved card spend request
    When the agent runs "spend-request retrieve {id} --include card"
    Then it succeeds
    And the output field "status" is "approved"
    And the output field "card.number" is present
    And the output field "card.cvc" is present
    And the output field "card.exp_month" is present
    And the output field "card.exp_year" is present
    And the output field "card.billing_address" is present
    And the output field "card.valid_until" is present
    And the card number passes the Luhn check and is the card Link issued

  @PAY-01 @masking @cli-only
  Scenario: Human output masks the card number
    Given an approved card spend request
    When the agent runs "spend-request retrieve {id} --include card" for a person to read
    Then the text shows only the last 4 digits of the card Link issued

  @PAY-02
  Scenario: No card before approval
    Given a card spend request pending approval
    When the agent runs "spend-request retrieve {id} --include card"
    Then it succeeds
    And the output field "status" is "pending_approval"
    And the output shows no card details
    And Link issued no credential

  @PAY-02
  Scenario: No card for a denied request
    Given a card spend request pending approval
    And the user denied the spend request
    When the agent runs "spend-request retrieve {id} --include card"
    Then it succeeds
    And the output field "status" is "denied"
    And the output shows no card details
    And Link issued no credential
